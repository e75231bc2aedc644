"""VideoH2V: landscape video -> 9:16 portrait video whose crop window follows the main subject.

Analysis runs on 256-px-wide frames at 5 samples a second. Per sample a saliency map combines
(a) motion that the camera does not explain — the global shift between samples (phase correlation)
is removed before differencing, so a pan does not light up the whole frame; (b) colour distinctness
against the border colours plus spectral residual (``_image.saliency``); (c) faces (BlazeFace,
once a second), which win when present. The column profile of the map gives the window holding the
most saliency, centred on its centroid. The centre path is then made calm: a dead zone ignores small
wanders, a zero-phase Gaussian over ~0.6 s smooths it (offline, so no lag), and a speed limit stops
whip pans; every frame's window is interpolated from it. The full-height crop keeps the source
pixels (no scaling); the audio is kept. The cloud uses learned subject detection/tracking.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _faces, _image, _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext
from airflow_iprod.local.algorithms.image_h2v import ASPECT, crop_window

RATE = 5.0
WIDTH = 256
FACE_EVERY = 5  # samples between face scans
DEAD_ZONE = 0.12  # share of the crop width the subject may wander before the window follows
SMOOTH_S = 0.3  # Gaussian sigma of the path, seconds
MAX_SPEED = 1.2  # crop widths per second


def _motion(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """|cur - prev| after removing the global (camera) translation between them."""
    (dx, dy), _ = cv2.phaseCorrelate(prev.astype(np.float32), cur.astype(np.float32))
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    aligned = cv2.warpAffine(prev, shift, (prev.shape[1], prev.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    diff = cv2.absdiff(cur, aligned).astype(np.float32)
    m = int(np.ceil(max(abs(dx), abs(dy)))) + 1  # borders uncovered by the shift are not motion
    diff[:m], diff[-m:], diff[:, :m], diff[:, -m:] = 0, 0, 0, 0
    return cv2.GaussianBlur(diff, (0, 0), 3)


def subject_path(
    path: Path, info: _video.VideoInfo, crop_w: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sample times and the smoothed crop-window centre (source pixels) at each."""
    height = max(2, round(info.height * WIDTH / info.width / 2) * 2)
    scale = info.width / WIDTH
    cw = max(2, round(crop_w / scale))
    times, centres = [], []
    prev: np.ndarray | None = None
    faces: list[_faces.Face] = []
    for k, f in enumerate(_video.iter_frames(path, threads=threads, rate=RATE, size=(WIDTH, height))):
        grey = cv2.cvtColor(f.image, cv2.COLOR_BGR2GRAY)
        if k % FACE_EVERY == 0:
            faces = _faces.detect(f.image)
        sal = _image.saliency(f.image, faces)
        if prev is not None:
            motion = _motion(prev, grey)
            peak = float(motion.max())
            if peak > 12:  # real movement somewhere: weight it like the static cues
                sal = 0.5 * sal + 0.5 * np.clip(motion / peak, 0, 1)
        prev = grey
        start = crop_window(sal.mean(axis=0), cw)
        times.append(f.time)
        centres.append((start + cw / 2) * scale)
    if not times:
        raise AlgorithmError("Input: no video frame could be decoded")
    raw = np.array(centres)
    held = raw.copy()  # dead zone: move only when the subject leaves the calm band
    for i in range(1, len(held)):
        held[i] = held[i - 1] if abs(raw[i] - held[i - 1]) < DEAD_ZONE * crop_w else raw[i]
    sigma = SMOOTH_S * RATE
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    smooth = np.convolve(np.pad(held, radius, mode="edge"), kernel / kernel.sum(), mode="valid")
    step = MAX_SPEED * crop_w / RATE
    for i in range(1, len(smooth)):
        smooth[i] = smooth[i - 1] + np.clip(smooth[i] - smooth[i - 1], -step, step)
    return np.array(times), smooth


def run(ctx: JobContext) -> AlgorithmResult:
    info = _video.probe(ctx.input_path)
    if info.width * 16 <= info.height * 9:
        raise AlgorithmError(
            f"Input: video is {info.width}x{info.height}, already portrait; VideoH2V needs a landscape video"
        )
    crop_w = max(2, round(info.height * ASPECT / 2) * 2)
    times, centres = subject_path(ctx.input_path, info, crop_w, ctx.threads)
    target = ctx.new_output(ext=".mp4")
    tmp = Path(ctx.workdir) / "h2v.video-only.mp4"
    with _video.VideoWriter(tmp, crop_w, info.height, info.fps, threads=ctx.threads) as writer:
        for f in _video.iter_frames(ctx.input_path, threads=ctx.threads):
            cx = float(np.interp(f.time, times, centres))
            x0 = int(np.clip(round(cx - crop_w / 2), 0, info.width - crop_w))
            writer.write(f.image[:, x0 : x0 + crop_w])
    _video.add_source_audio(tmp, ctx.input_path, target.path, threads=ctx.threads)
    return AlgorithmResult(outputs=[target], result={})
