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
_NEAR = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
# VP9 speed: realtime deadline, fastest cpu-used (checked against the alpha IoU bar in the tests)
VP9_DEADLINE = "realtime"
VP9_CPU_USED = 8


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
    ycc = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)
    strength = max(8.0, float(np.hypot(key[1] - 128, key[2] - 128)))
    cr = cv2.subtract(ycc[..., 1], float(key[1]), dtype=cv2.CV_32F)
    cb = cv2.subtract(ycc[..., 2], float(key[2]), dtype=cv2.CV_32F)
    d = cv2.magnitude(cr, cb)
    d *= 1.0 / strength
    local = cv2.dilate(d, _NEAR)
    alpha = d / np.maximum(local, 1e-3)  # share of foreground in the pixel
    alpha *= 1.6
    alpha -= 0.3  # (share - 0.5) * 1.6 + 0.5
    np.clip(alpha, 0.0, 1.0, out=alpha)
    np.copyto(alpha, 0.0, where=(d < BACKGROUND_CUT) | (local < FOREGROUND_NEAR))
    return alpha


def foreground(image: np.ndarray, alpha: np.ndarray, key_bgr: np.ndarray) -> np.ndarray:
    """Colours with the key mixed out of soft edges and green spill clamped (float32 BGR)."""
    return _foreground_u8(image, alpha, key_bgr).astype(np.float32)


def _foreground_u8(image: np.ndarray, alpha: np.ndarray, key_bgr: np.ndarray) -> np.ndarray:
    """``foreground`` in uint8, computed in float only where alpha is soft (edges: a few % of pixels).

    Solid pixels are their own colour; under alpha 0 the colour is invisible and is left as the
    source's (smooth, cheap to encode) instead of an un-mixed extreme.
    """
    soft = _soft(alpha)
    flat = image.reshape(-1, 3)
    if soft.size:
        a = alpha.reshape(-1)[soft][:, None]
        mixed = (flat[soft].astype(np.float32) - (1.0 - a) * key_bgr) / np.maximum(a, 0.05)
        flat = flat.copy()
        flat[soft] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    b, g, r = cv2.split(flat.reshape(image.shape))
    return cv2.merge([b, cv2.min(g, cv2.max(b, r)), r])  # spill: G <= max(R, B)


def _soft(alpha: np.ndarray) -> np.ndarray:
    """Flat indices of the pixels whose alpha is strictly between 0 and 1."""
    return np.flatnonzero((alpha > 0.0) & (alpha < 1.0))


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
        path = ctx.fetch(bg_url)  # an oss:// or http(s):// object URL (the catalog checked its form)
        bg = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bg is None:
            raise AlgorithmError(
                f"JobParams.bgimage: {bg_url!r} is not a readable image (JPEG, PNG, BMP, WebP)"
            )
        background_u8 = np.ascontiguousarray(cover_resize(bg, info.width, info.height))
        background = background_u8.astype(np.float32)

        def composite(frame: _video.Frame) -> np.ndarray:
            alpha = matte(frame.image, key)
            fg = _foreground_u8(frame.image, alpha, key_bgr)
            out = background_u8.copy()
            out = cv2.copyTo(fg, (alpha >= 1.0).view(np.uint8), out)
            soft = _soft(alpha)
            if soft.size:
                a = alpha.reshape(-1)[soft][:, None]
                blend = fg.reshape(-1, 3)[soft].astype(np.float32) * a + background.reshape(-1, 3)[soft] * (
                    1 - a
                )
                out.reshape(-1, 3)[soft] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
            return out

        target = ctx.new_output(ext=".mp4")
        _video.transform_video(
            ctx.input_path, target.path, composite, threads=ctx.threads, workdir=ctx.workdir
        )
        return AlgorithmResult(outputs=[target], result={})

    target = ctx.new_output(ext=".webm")
    tmp = Path(ctx.workdir) / "matte.video-only.webm"
    vp9 = {"vp9_deadline": VP9_DEADLINE, "vp9_cpu_used": VP9_CPU_USED}
    with _video.VideoWriter(tmp, info.width, info.height, info.fps, threads=ctx.threads, crf=20,
                            webm_alpha=True, **vp9) as writer:  # fmt: skip
        bgra = np.empty((info.height, info.width, 4), np.uint8)
        for frame in _video.iter_frames(ctx.input_path, threads=ctx.threads):
            alpha = matte(frame.image, key)
            bgra[..., :3] = _foreground_u8(frame.image, alpha, key_bgr)
            alpha *= 255.0
            alpha += 0.5
            bgra[..., 3] = alpha.astype(np.uint8)  # alpha is within 0..1: no clipping needed
            writer.write(bgra)
        if writer.frames_written == 0:
            raise AlgorithmError("Input: no video frame could be decoded")
    _video.add_source_audio(tmp, ctx.input_path, target.path, threads=ctx.threads)
    return AlgorithmResult(outputs=[target], result={})
