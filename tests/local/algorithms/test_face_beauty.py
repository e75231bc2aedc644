"""FaceBeauty on a real face (the astronaut photo) drifting over a background: outside the faces
nothing changes, and each parameter changes what it names."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from airflow_iprod import catalog
from airflow_iprod.local.algorithms import face_beauty
from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.motion import FaceVideo, face_video
from tests.mediagen.video import decode, psnr


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> FaceVideo:
    return face_video(tmp_path_factory.mktemp("fb") / "face.mp4", seconds=1.6)


def face_stats(frames: list[np.ndarray], boxes: list[tuple[int, int, int, int]]) -> tuple[float, float]:
    """Mean luminance of the inner face and median |Laplacian| on its skin (cheeks, forehead), all frames."""
    lum, hf = [], []
    for img, (x, y, w, h) in zip(frames, boxes, strict=True):
        patch = img[y + h // 4 : y + h - h // 8, x + w // 5 : x + w - w // 5]
        inner = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
        skin = cv2.erode(_skin(patch), np.ones((5, 5), np.uint8)) > 0
        lum.append(float(inner.mean()))
        lap = np.abs(cv2.Laplacian(inner.astype(np.float32), cv2.CV_32F))
        hf.append(float(np.median(lap[skin])))  # median: skin texture, not eye/mouth outlines
    return float(np.mean(lum)), float(np.mean(hf))


def worst_psnr_outside_faces(
    out: list[np.ndarray], src: list[np.ndarray], boxes: list[tuple[int, int, int, int]]
) -> float:
    """The worst frame's PSNR between ``out`` and ``src`` outside each face box dilated (one box width
    to the sides, one height above, 1.5 heights below): there FaceBeauty must leave the picture alone."""
    worst = 99.0
    for a, b, (x, y, w, h) in zip(out, src, boxes, strict=True):
        keep = np.ones(a.shape[:2], bool)
        keep[max(0, y - h) : y + 2 * h + h // 2, max(0, x - w) : x + 2 * w] = False
        worst = min(worst, psnr(a[keep], b[keep]))
    return worst


def _skin(img: np.ndarray) -> np.ndarray:
    return cv2.inRange(cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb), (30, 133, 77), (255, 180, 135))


def _jaw_width(img: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Width of the face's skin at the jaw rows (the lower quarter of the face box): per row, the run
    of face-coloured pixels through the face's centre column. The loose skin test of ``_skin`` also
    takes this clip's background (Cr 130-134 against the face's 140-151) in and out with a
    re-encode's +-1 level noise, so here a pixel counts when its Cr is nearer the face's than the
    background's."""
    x, y, w, h = box
    band = img[y + int(h * 0.75) : y + h, x - w // 2 : x + w + w // 2]
    face = cv2.inRange(cv2.cvtColor(band, cv2.COLOR_BGR2YCrCb), (30, 138, 77), (255, 180, 135))
    skin = cv2.medianBlur(face, 5) > 0
    mid = w // 2 + w // 2  # the centre column of the face inside the band
    widths = []
    for row in skin:
        if not row[mid]:
            continue
        left = mid - int(np.argmin(row[mid::-1])) if not row[: mid + 1].all() else 0
        right = mid + int(np.argmin(row[mid:])) if not row[mid:].all() else len(row)
        widths.append(right - left)
    return float(np.mean(widths)) if widths else 0.0


@pytest.mark.slow
def test_each_parameter_acts_on_faces_only(clip: FaceVideo, run_algorithm) -> None:
    src = decode(clip.path)
    out = {}
    for name, params in {"smooth": "smooth=100", "whiten": "whiten=60", "thin": "face_thin=100"}.items():
        res = run_algorithm("FaceBeauty", clip.path, {"beauty_params": params})
        frames = decode(res.outputs[0].path)
        assert len(frames) == len(src)
        # Outside the dilated face boxes the picture is the source (re-encoding only).
        worst = worst_psnr_outside_faces(frames, src, clip.face_boxes)
        print(f"{name}: worst PSNR outside faces {worst:.1f} dB")
        assert worst >= 40
        out[name] = frames
    lum0, hf0 = face_stats(src, clip.face_boxes)
    _, hf_s = face_stats(out["smooth"], clip.face_boxes)
    lum_w, _ = face_stats(out["whiten"], clip.face_boxes)
    mid = len(src) // 2
    jaw0, jaw_t = (
        _jaw_width(src[mid], clip.face_boxes[mid]),
        _jaw_width(out["thin"][mid], clip.face_boxes[mid]),
    )
    print(
        f"skin |Laplacian| {hf0:.1f} -> {hf_s:.1f}; luminance {lum0:.1f} -> {lum_w:.1f}; "
        f"jaw {jaw0:.1f} -> {jaw_t:.1f} px"
    )
    assert hf_s < 0.6 * hf0
    assert lum_w > lum0 + 8
    assert jaw_t < jaw0 - 3


def test_levels_defaults() -> None:
    # absent: the documented example; a key left out of the catalog's parsed dict: 0
    catalog_default = catalog.validate_job_params(catalog.spec_for("FaceBeauty", "ice"), {})
    assert face_beauty.levels(catalog_default) == {"whiten": 0.2, "smooth": 0.5, "face_thin": 0.5}
    assert face_beauty.levels({"beauty_params": {"smooth": 30}}) == {
        "whiten": 0,
        "smooth": 0.3,
        "face_thin": 0,
    }


def test_refuses_non_video(tmp_path: Path, run_algorithm) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(AlgorithmError, match="Input"):
        run_algorithm("FaceBeauty", bad, {"beauty_params": "smooth=50"})
