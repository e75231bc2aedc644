"""VideoGreenScreenMatting: key out a green screen; composite over ``bgimage`` (MP4) or keep alpha (WebM).

The key colour is measured from the video (median chroma of clearly green pixels over sampled
frames), so uneven lighting and non-pure greens work. Per pixel, ``d`` is the CbCr distance to the
key. Along an edge the pixel is a mix of key and foreground, and ``d`` grows linearly with the
foreground share, so ``d`` divided by the largest ``d`` nearby (the pure foreground next to it)
estimates that share: soft, unbiased edges without a hand-tuned ramp. Pixels near the key (shading,
noise) are cut to 0. Colours are un-mixed from the key at soft edges and green spill is clamped
(G <= max(R, B)) before compositing or writing a VP9 yuva420p WebM.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

KEY_SAMPLES = 10
BACKGROUND_CUT = 0.25  # share of the key's chroma strength below which a pixel is screen
FOREGROUND_NEAR = 0.45  # a neighbourhood needs this much distance somewhere to hold foreground


def estimate_key(ctx: JobContext, info: _video.VideoInfo) -> np.ndarray:
    """Median YCrCb of clearly green pixels over a few frames spread over the video."""
    rate = min(4.0, KEY_SAMPLES / max(info.duration, 0.1))
    picks: list[np.ndarray] = []
    for f in _video.iter_frames(ctx.input_path, threads=ctx.threads, rate=rate, size=(320, 180)):
        b, g, r = (f.image[..., i].astype(np.int16) for i in range(3))
        green = (g > 50) & (g * 10 > r * 13) & (g * 10 > b * 13)
        if green.mean() > 0.05:
            picks.append(cv2.cvtColor(f.image, cv2.COLOR_BGR2YCrCb)[green])
    if not picks:
        raise AlgorithmError("Input: no green screen found (no frame is at least 5% clearly green); "
                             "VideoGreenScreenMatting needs a video shot on a green background")  # fmt: skip
    return np.median(np.concatenate(picks), axis=0).astype(np.float32)


def matte(image: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Alpha in 0..1 (float32) for one BGR frame."""
    ycc = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb).astype(np.float32)
    strength = max(8.0, float(np.hypot(key[1] - 128, key[2] - 128)))
    d = np.hypot(ycc[..., 1] - key[1], ycc[..., 2] - key[2]) / strength
    local = cv2.dilate(d, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    share = d / np.maximum(local, 1e-3)
    alpha = np.clip((share - 0.5) * 1.6 + 0.5, 0.0, 1.0)
    alpha[(d < BACKGROUND_CUT) | (local < FOREGROUND_NEAR)] = 0.0
    return alpha


def foreground(image: np.ndarray, alpha: np.ndarray, key_bgr: np.ndarray) -> np.ndarray:
    """Colours with the key mixed out of soft edges and green spill clamped (float32 BGR)."""
    a = alpha[..., None]
    fg = (image.astype(np.float32) - (1.0 - a) * key_bgr) / np.maximum(a, 0.05)
    fg = np.clip(fg, 0, 255)
    fg[..., 1] = np.minimum(fg[..., 1], np.maximum(fg[..., 0], fg[..., 2]))
    return fg


def cover_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height (keep aspect), centre-crop the overflow."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return resized[y0 : y0 + height, x0 : x0 + width]


def run(ctx: JobContext) -> AlgorithmResult:
    info = _video.probe(ctx.input_path)
    key = estimate_key(ctx, info)
    key_bgr = (
        cv2.cvtColor(key.reshape(1, 1, 3).astype(np.uint8), cv2.COLOR_YCrCb2BGR).reshape(3).astype(np.float32)
    )
    ctx.log(f"key YCrCb={key.round(1).tolist()} BGR={key_bgr.round(1).tolist()}")
    bg_url = ctx.params.get("bgimage")
    if bg_url:
        path = ctx.fetch(str(bg_url))
        bg = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bg is None:
            raise AlgorithmError(
                f"JobParams.bgimage: {bg_url!r} is not a readable image (JPEG, PNG, BMP, WebP)"
            )
        background = cover_resize(bg, info.width, info.height).astype(np.float32)

        def composite(frame: _video.Frame) -> np.ndarray:
            alpha = matte(frame.image, key)
            fg = foreground(frame.image, alpha, key_bgr)
            a = alpha[..., None]
            return np.clip(fg * a + background * (1 - a) + 0.5, 0, 255).astype(np.uint8)

        target = ctx.new_output(ext=".mp4")
        _video.transform_video(
            ctx.input_path, target.path, composite, threads=ctx.threads, workdir=ctx.workdir
        )
        return AlgorithmResult(outputs=[target], result={})

    target = ctx.new_output(ext=".webm")
    tmp = Path(ctx.workdir) / "matte.video-only.webm"
    with _video.VideoWriter(tmp, info.width, info.height, info.fps, threads=ctx.threads, crf=20,
                            webm_alpha=True) as writer:  # fmt: skip
        for frame in _video.iter_frames(ctx.input_path, threads=ctx.threads):
            alpha = matte(frame.image, key)
            bgra = np.empty((*alpha.shape, 4), np.uint8)
            bgra[..., :3] = np.clip(foreground(frame.image, alpha, key_bgr) + 0.5, 0, 255).astype(np.uint8)
            bgra[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
            writer.write(bgra)
        if writer.frames_written == 0:
            raise AlgorithmError("Input: no video frame could be decoded")
    _video.add_source_audio(tmp, ctx.input_path, target.path, threads=ctx.threads)
    return AlgorithmResult(outputs=[target], result={})
