"""FaceBeauty: skin smoothing, whitening and face thinning on detected faces only.

Faces are found twice a second (LBP cascade shipped in scikit-image, see ``_faces``), linked into
tracks and interpolated to every frame. Each face gets a feathered elliptical mask (forehead to
chin) weighted by a soft skin-colour test, so eyes, brows, lips and hair keep their detail; every
change is confined to a box around the face, so pixels elsewhere are untouched (re-encoding aside).
* ``smooth`` 0..100: an edge-preserving bilateral filter blended in by the mask (pores and fine
  texture go, face outlines stay);
* ``whiten`` 0..100: lifts luminance (Lab L) with a gamma curve that brightens shadows most;
* ``face_thin`` 0..100: a smooth horizontal warp pulling the cheeks and jaw toward the face's centre
  line, strongest at the jaw and fading to nothing at the warp box's edge (no seams).
``beauty_params`` absent means the documented example (whiten=20, smooth=50, face_thin=50); a key
left out of it is 0. The cloud uses learned landmarks for a finer face shape; this local version
works on frontal faces the cascade finds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _faces, _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

DETECT_RATE = 2.0
DEFAULTS = {"whiten": 20, "smooth": 50, "face_thin": 50}


def levels(params: dict[str, Any]) -> dict[str, float]:
    raw = params.get("beauty_params")
    if raw is None:
        raw = DEFAULTS
    if not isinstance(raw, dict):
        raise AlgorithmError(
            f"JobParams.beauty_params: {raw!r} is not parsed; expected whiten/smooth/face_thin"
        )
    out = {}
    for key in DEFAULTS:
        value = raw.get(key, 0)
        if not isinstance(value, int | float) or not 0 <= value <= 100:
            raise AlgorithmError(f"JobParams.beauty_params.{key}: {value!r} is not allowed; use 0..100")
        out[key] = float(value) / 100
    return out


def face_region(face: _faces.Face, width: int, height: int) -> tuple[int, int, int, int]:
    """The box every change to ``face`` stays inside (x0, y0, x1, y1)."""
    x0, y0 = int(face.cx - face.w * 0.95), int(face.cy - face.h * 1.0)
    x1, y1 = int(face.cx + face.w * 0.95), int(face.cy + face.h * 1.15)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def beautify(img: np.ndarray, faces: list[_faces.Face], lv: dict[str, float]) -> np.ndarray:
    out = img.copy()
    h, w = img.shape[:2]
    for face in faces:
        x0, y0, x1, y1 = face_region(face, w, h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            continue
        roi = out[y0:y1, x0:x1]
        rh, rw = roi.shape[:2]
        cx, cy = face.cx - x0, face.cy - y0 + face.h * 0.08
        mask = np.zeros((rh, rw), np.float32)
        cv2.ellipse(
            mask, (round(cx), round(cy)), (round(face.w * 0.5), round(face.h * 0.68)), 0, 0, 360, 1.0, -1
        )
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, face.w * 0.08))
        skin = cv2.GaussianBlur(
            _faces.skin_mask(roi).astype(np.float32) / 255, (0, 0), max(1.0, face.w * 0.03)
        )
        m = (mask * (0.25 + 0.75 * skin))[..., None]
        work = roi.astype(np.float32)
        if lv["smooth"] > 0:
            d = max(5, int(face.w * 0.12) | 1)
            sigma = 12 + 38 * lv["smooth"]
            filtered = cv2.bilateralFilter(roi, d, sigma, d / 2)
            if lv["smooth"] > 0.5:  # a second pass for strong settings: texture fades, outlines stay
                filtered = cv2.bilateralFilter(filtered, d, sigma, d / 2)
            filtered = filtered.astype(np.float32)
            work = work + (filtered - work) * (m * min(1.0, 0.3 + 0.7 * lv["smooth"]))
        if lv["whiten"] > 0:
            lab = cv2.cvtColor(np.clip(work, 0, 255).astype(np.uint8), cv2.COLOR_BGR2LAB).astype(np.float32)
            gamma = 1.0 - 0.45 * lv["whiten"]
            lifted = 255.0 * (lab[..., 0] / 255.0) ** gamma
            lab[..., 0] += (lifted - lab[..., 0]) * m[..., 0]
            work = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR).astype(np.float32)
        if lv["face_thin"] > 0:
            yy, xx = np.mgrid[0:rh, 0:rw].astype(np.float32)
            # Horizontal pull toward the centre line, strongest at the jaw/cheeks, zero at the box edge.
            vy = np.clip((yy - (cy - face.h * 0.1)) / (face.h * 0.6), 0, 1)
            vy *= np.clip((rh - 1 - yy) / (face.h * 0.25), 0, 1)
            ux = np.abs(xx - cx) / (face.w * 0.95)
            hx = np.clip(ux, 0, 1) * np.clip((1 - ux) / 0.35, 0, 1)
            k = 0.22 * lv["face_thin"]
            map_x = (xx + np.sign(xx - cx) * k * face.w * hx * vy).astype(np.float32)
            work = cv2.remap(work, map_x, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[y0:y1, x0:x1] = np.clip(np.rint(work), 0, 255).astype(np.uint8)
    return out


def face_tracks(path: Path, threads: int) -> list[_faces.Track]:
    samples = [
        (f.time, _faces.detect(f.image)) for f in _video.iter_frames(path, threads=threads, rate=DETECT_RATE)
    ]
    return _faces.build_tracks(samples)


def run(ctx: JobContext) -> AlgorithmResult:
    lv = levels(ctx.params)
    tracks = face_tracks(ctx.input_path, ctx.threads)
    ctx.log(f"{len(tracks)} face track(s); levels {lv}")
    hold = 1.0 / DETECT_RATE

    def apply(frame: _video.Frame) -> np.ndarray:
        faces = [f for tr in tracks if (f := tr.at(frame.time, hold)) is not None]
        return beautify(frame.image, faces, lv) if faces else frame.image

    target = ctx.new_output(ext=".mp4")
    # CRF 12: the untouched parts must survive the re-encode (>= 40 dB against the source decode).
    _video.transform_video(
        ctx.input_path, target.path, apply, threads=ctx.threads, crf=12, workdir=ctx.workdir
    )
    return AlgorithmResult(outputs=[target], result={})
