"""Image I/O and saliency shared by the image algorithms (ImageMatting, ImageH2V, ImageDelogo,
ImageCartoonize) and VideoH2V.

Images are decoded from their bytes (the input's name may lie); the output format follows the
output object's extension. Saliency is model-free: colour distinctness against the picture's border
colours (what a photographer's subject usually is), a spectral-residual term for small odd details,
and detected faces on top.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _faces
from airflow_iprod.local.algorithms.base import AlgorithmError, OutputTarget

FORMATS = {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg", ".webp": ".webp", ".bmp": ".bmp"}
MAX_PIXELS = 80_000_000


def read_image(path: Path, *, keep_alpha: bool = False) -> np.ndarray:
    """Decode an image file to BGR uint8 (BGRA with ``keep_alpha`` when it has alpha)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise AlgorithmError("Input: is not a decodable image; PNG, JPEG, BMP, WebP or TIFF are allowed")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise AlgorithmError(
            f"Input: image is {img.shape[1]}x{img.shape[0]}; "
            f"at most {MAX_PIXELS // 1_000_000} megapixels are allowed"
        )
    if img.dtype != np.uint8:  # 16-bit PNG/TIFF
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else cv2.convertScaleAbs(img)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4 and not keep_alpha:
        alpha = img[:, :, 3:4].astype(np.float32) / 255
        img = (img[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)  # over white
    return img


def output_format(target: OutputTarget, default: str = ".png") -> str:
    """The encoder extension for ``target``: from its URL (what the user asked for), else ``default``."""
    for name in (target.url, str(target.path)):
        suffix = Path(name.split("?")[0]).suffix.lower()
        if suffix in FORMATS:
            return FORMATS[suffix]
    return default


def write_image(target: OutputTarget, img: np.ndarray, fmt: str) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if fmt == ".jpg" else []
    ok, buf = cv2.imencode(fmt, img, params)
    if not ok:
        raise AlgorithmError(f"Output: could not encode the result as {fmt}")
    Path(target.path).write_bytes(buf.tobytes())


def _border_distance(lab: np.ndarray) -> np.ndarray:
    """Per pixel, the Lab distance to the nearest of a few border colour clusters (background model)."""
    h, w = lab.shape[:2]
    b = max(2, min(h, w) // 20)
    border = np.concatenate(
        [
            lab[:b].reshape(-1, 3),
            lab[-b:].reshape(-1, 3),
            lab[:, :b].reshape(-1, 3),
            lab[:, -b:].reshape(-1, 3),
        ]
    ).astype(np.float32)
    k = 6
    _, _, centres = cv2.kmeans(
        border,
        k,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5),
        2,
        cv2.KMEANS_PP_CENTERS,
    )
    flat = lab.reshape(-1, 3).astype(np.float32)
    d = np.min(np.linalg.norm(flat[:, None, :] - centres[None, :, :], axis=2), axis=1)
    return d.reshape(h, w)


def _spectral_residual(grey: np.ndarray) -> np.ndarray:
    small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-6)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    return cv2.resize(sal, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)


def _norm(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.percentile(x, 1)), float(np.percentile(x, 99.5))
    return np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x, dtype=np.float32)


def saliency(bgr: np.ndarray, faces: list[_faces.Face] | None = None) -> np.ndarray:
    """Saliency in [0, 1] at the image's size (computed at <= 256 px, smooth)."""
    h, w = bgr.shape[:2]
    s = min(1.0, 256 / max(h, w))
    small = cv2.resize(bgr, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), 1.5), cv2.COLOR_BGR2LAB)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    sal = 0.75 * _norm(_border_distance(lab)) + 0.25 * _norm(_spectral_residual(grey))
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), max(1.0, min(small.shape[:2]) / 60))
    sal = _norm(sal)
    for f in faces or []:  # a face is the subject whatever its colours; weight it like the top of the map
        fs = f.scaled(s)
        cv2.ellipse(
            sal, (round(fs.cx), round(fs.cy)), (max(1, round(fs.w * 0.6)), max(1, round(fs.h * 0.8))),
            0, 0, 360, 1.5, -1,
        )  # fmt: skip
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


def best_window(profile: np.ndarray, size: int, prior_centre: float | None = None) -> int:
    """Start of the ``size``-long window holding the most of ``profile`` (ties -> nearer the prior)."""
    n = len(profile)
    if size >= n:
        return 0
    csum = np.concatenate([[0.0], np.cumsum(profile)])
    mass = csum[size:] - csum[:-size]
    centre = (n - size) / 2 if prior_centre is None else prior_centre - size / 2
    starts = np.arange(len(mass))
    # A faint pull toward the prior breaks ties on flat maps without overriding a clear subject.
    score = mass - 1e-3 * float(mass.max() or 1) * np.abs(starts - centre) / max(n, 1)
    return int(np.argmax(score))
