"""Generated videos with a known moving subject: a camera pan over a textured scene with a figure
walking across it (VideoH2V), and a real face (the astronaut photo) drifting over a background
(FaceBeauty)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.mediagen.images import astronaut, textured_background
from tests.mediagen.video import encode, smooth_background


@dataclass
class MovingSubject:
    path: Path
    boxes: list[tuple[int, int, int, int]]  # x, y, w, h of the subject per frame
    size: tuple[int, int]
    fps: int


def panning_subject_video(
    path: Path, seconds: float = 6.0, size: tuple[int, int] = (640, 360), fps: int = 25, tone: bool = True
) -> MovingSubject:
    """The camera pans right over a wide textured scene with grey posts while an orange-and-blue
    figure walks from the left third to the right edge and back (screen x follows a known curve)."""
    w, h = size
    pano = textured_background(w * 3, h, seed=5, contrast=22)
    for x in range(40, w * 3, 150):  # static scene structure that moves with the pan
        g = 90 + (x * 7) % 80
        cv2.rectangle(pano, (x, h // 3), (x + 14, h - 20), (g, g, g), -1)
    frames, boxes = [], []
    for i in range(round(seconds * fps)):
        t = i / fps
        pan = int(60 * t)  # camera moves 60 px/s to the right
        img = pano[:, pan : pan + w].copy()
        cx = int(w * (0.5 + 0.38 * np.sin(2 * np.pi * t / seconds - np.pi / 2 + 0.3)))
        cy = int(h * 0.55 + 6 * np.sin(6 * t))
        bw, bh = 44, 130
        cv2.ellipse(img, (cx, cy + 15), (bw // 2, bh // 2 - 20), 0, 0, 360, (20, 110, 240), -1, cv2.LINE_AA)
        cv2.rectangle(img, (cx - 14, cy + 30), (cx + 14, cy + bh // 2), (160, 60, 20), -1)
        cv2.circle(img, (cx, cy - bh // 2 + 22), 17, (120, 170, 230), -1, cv2.LINE_AA)
        frames.append(img)
        boxes.append((cx - bw // 2, cy - bh // 2 + 5, bw, bh - 5))
    encode(path, frames, fps, tone=tone)
    return MovingSubject(path, boxes, size, fps)


@dataclass
class FaceVideo:
    path: Path
    face_boxes: list[tuple[int, int, int, int]]  # x, y, w, h of the face per frame (known placement)
    size: tuple[int, int]
    fps: int


def face_video(
    path: Path, seconds: float = 3.0, size: tuple[int, int] = (640, 360), fps: int = 25
) -> FaceVideo:
    """The astronaut photo (320x320) sliding slowly right over a smooth background."""
    w, h = size
    photo = cv2.resize(astronaut(), (320, 320), interpolation=cv2.INTER_AREA)
    face_in_photo = (112, 44, 60, 62)  # face box in the 320 px photo (measured once from the cascade)
    frames, boxes = [], []
    for i in range(round(seconds * fps)):
        t = i / fps
        img = smooth_background(w, h, t)
        x0, y0 = int(40 + 60 * t), 20
        img[y0 : y0 + 320, x0 : x0 + 320] = photo[: h - y0]
        frames.append(img)
        fx, fy, fw, fh = face_in_photo
        boxes.append((x0 + fx, y0 + fy, fw, fh))
    encode(path, frames, fps, crf=10)
    return FaceVideo(path, boxes, size, fps)


def entering_face_video(
    path: Path, seconds: float = 3.0, size: tuple[int, int] = (640, 360), fps: int = 25, enter: float = 0.9
) -> Path:
    """The astronaut photo (~300 px, slowly zooming) entering from the left at ``enter`` s and crossing
    the frame at 150 px/s over a textured background: a face that appears between full scans and
    moves about a face width per 0.4 s (what a tracker has to keep up with)."""
    w, h = size
    photo = cv2.resize(astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    bg = textured_background(w, h, seed=3)
    frames = []
    for i in range(round(seconds * fps)):
        t = i / fps
        img = bg.copy()
        if t >= enter:
            s = 0.8 + 0.15 * np.sin(2 * t)
            p = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            x0, y0 = int(-120 + 150 * (t - enter)), 20
            ph, pw = p.shape[:2]
            xa, xb, yb = max(0, x0), min(w, x0 + pw), min(h, y0 + ph)
            if xb > xa:
                img[y0:yb, xa:xb] = p[: yb - y0, xa - x0 : xb - x0]
        frames.append(img)
    return encode(path, frames, fps, crf=10)
