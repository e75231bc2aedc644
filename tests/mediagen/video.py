"""Generated test videos with known ground truth (cuts, logo boxes, caption timings, mattes).

Two kinds: ffmpeg lavfi test sources glued with concat (known cut frames), and frames drawn with
numpy/OpenCV and encoded near-losslessly with PyAV (known logo box, caption box and timings, green
screen mask per frame). Every generator returns its ground truth next to the file.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def encode(path: Path, frames: Iterable[np.ndarray], fps: int = 25, crf: int = 8, tone: bool = False) -> Path:
    """Encode BGR frames to H.264 yuv420p MP4 at high quality (the reference decode is what tests compare);
    ``tone``: with a sine tone audio track (``with_tone``)."""
    container = av.open(str(path), "w")
    stream = None
    for i, img in enumerate(frames):
        if stream is None:
            stream = container.add_stream("libx264", rate=Fraction(fps))
            stream.pix_fmt = "yuv420p"
            stream.width, stream.height = img.shape[1], img.shape[0]
            stream.options = {"crf": str(crf), "preset": "veryfast"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    assert stream is not None, "no frames"
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    return with_tone(path) if tone else path


def add_tone(path: Path, out: Path, freq: int = 440) -> Path:
    """Copy ``path`` with a sine tone audio track of the same length (AAC)."""
    with av.open(str(path)) as c:
        seconds = float(c.streams.video[0].duration * c.streams.video[0].time_base)
    tone = f"sine=frequency={freq}:sample_rate=48000:duration={seconds}"
    ffmpeg("-i", str(path), "-f", "lavfi", "-i", tone,
           "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(out))  # fmt: skip
    return out


def with_tone(path: Path) -> Path:
    """Give the video at ``path`` a sine tone audio track (AAC), in place."""
    return add_tone(path, path.with_name(path.stem + ".tone.mp4")).replace(path)


def decode(path: Path, fmt: str = "bgr24", decoder: str | None = None) -> list[np.ndarray]:
    """Every frame of the first video stream (``decoder="libvpx-vp9"`` keeps VP9 alpha)."""
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        if decoder:
            ctx = av.CodecContext.create(decoder, "r")
            ctx.extradata = vs.codec_context.extradata
            frames = [f for p in container.demux(vs) for f in ctx.decode(p)]
        else:
            frames = list(container.decode(vs))
        return [f.to_ndarray(format=fmt) for f in frames]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(255.0**2 / err))


@functools.lru_cache(maxsize=8)
def _diagonal(w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (x / w + 0.6 * y / h) / 1.6
    u.flags.writeable = False  # shared between calls
    return u


def smooth_background(w: int, h: int, t: float) -> np.ndarray:
    """A smooth diagonal colour gradient whose colours drift slowly with time (no edges at all)."""
    u = _diagonal(w, h)
    b = 90 + 80 * np.sin(2 * np.pi * (u * 0.6 + 0.05 * t))
    g = 100 + 60 * np.cos(2 * np.pi * (u * 0.5 - 0.04 * t))
    r = 120 + 70 * np.sin(2 * np.pi * (0.3 + u * 0.4 + 0.03 * t))
    return np.clip(np.dstack([b, g, r]), 0, 255).astype(np.uint8)


def _ball(img: np.ndarray, t: float, seed: int, region: tuple[int, int, int, int]) -> None:
    """Draw a coloured disc bouncing inside ``region`` (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = region
    vx, vy = rng.uniform(60, 140, 2) * rng.choice([-1, 1], 2)
    px, py = rng.uniform(0, 1, 2)
    r = int(rng.integers(14, 30))
    span_x, span_y = max(1, x1 - x0 - 2 * r), max(1, y1 - y0 - 2 * r)

    def bounce(p0: float, v: float, span: int) -> float:
        s = (p0 * span + v * t) % (2 * span)
        return s if s < span else 2 * span - s

    cx = int(x0 + r + bounce(px, vx, span_x))
    cy = int(y0 + r + bounce(py, vy, span_y))
    colour = tuple(int(c) for c in rng.integers(30, 230, 3))
    cv2.circle(img, (cx, cy), r, colour, -1, cv2.LINE_AA)
    cv2.rectangle(img, (cx - r // 2, cy - 3), (cx + r // 2, cy + 3), (255 - colour[0], 40, 200), -1)


# ---------------------------------------------------------------- multi-shot (cuts known)
SHOT_SOURCES: dict[str, str] = {
    "testsrc2": "testsrc2=size={s}:rate={r}",
    "mandelbrot": "mandelbrot=size={s}:rate={r}",
    "smpte_scroll": "smptehdbars=size={s}:rate={r},scroll=h=0.004",
    "life": "life=size={s}:rate={r}:mold=10:ratio=0.1:death_color=#102040:life_color=#e0c030",
    "testsrc_hue": "testsrc=size={s}:rate={r},hue=h=90*t",
    "cellauto": "cellauto=size={s}:rate={r}:rule=18,negate",
    "rgb_scroll": "rgbtestsrc=size={s}:rate={r},scroll=v=0.006",
    "zoneplate": "zoneplate=size={s}:rate={r}:kt2=1:kx2=256:ky2=256",
    "testsrc2_neg": "testsrc2=size={s}:rate={r},negate,hue=h=120",
    "colorspectrum": "colorspectrum=size={s}:rate={r},scroll=h=0.01",
}


@dataclass
class MultiShot:
    path: Path
    fps: int
    cut_frames: list[int]  # first frame index of every shot after the first
    shot_ranges: list[tuple[float, float]]  # seconds [start, end) of every shot
    frame_count: int


def multi_shot_video(
    path: Path, shots: list[tuple[str, float]], size: str = "320x180", fps: int = 25, tone: bool = False
) -> MultiShot:
    """Concatenate lavfi test sources (``(name in SHOT_SOURCES, seconds)``), hard cuts between them."""
    inputs: list[str] = []
    labels = ""
    for i, (name, seconds) in enumerate(shots):
        src = SHOT_SOURCES[name].format(s=size, r=fps)
        # Each shot starts at a different offset of its source so repeated sources still differ.
        first, count = round(0.7 * i * fps), round(seconds * fps)
        trim = f"trim=start_frame={first}:end_frame={first + count},setpts=PTS-STARTPTS"
        inputs += ["-f", "lavfi", "-i", f"{src},{trim}"]
        labels += f"[{i}:v]format=yuv420p,setsar=1[v{i}];"
    graph = labels + "".join(f"[v{i}]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0[out]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-crf", "12",
           "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    frames_per = [round(sec * fps) for _, sec in shots]
    starts = np.cumsum([0, *frames_per]).tolist()
    if tone:
        with_tone(path)
    return MultiShot(
        path=path,
        fps=fps,
        cut_frames=starts[1:-1],
        shot_ranges=[(starts[i] / fps, starts[i + 1] / fps) for i in range(len(shots))],
        frame_count=starts[-1],
    )


# ---------------------------------------------------------------- cover (good / bad segments)
@dataclass
class QualitySegments:
    path: Path
    segments: list[tuple[str, float, float]]  # (kind, start, end) kind in sharp/black/blurred/faded


def quality_segments_video(path: Path, size: str = "480x270", fps: int = 25) -> QualitySegments:
    """Black, blurred, faded and sharp stretches with hard cuts; kinds and times are the truth."""
    plan = [
        ("black", "color=c=black:size={s}:rate={r}", 1.2),
        ("blurred", "testsrc2=size={s}:rate={r},boxblur=10:2", 1.5),
        ("sharp", "testsrc2=size={s}:rate={r}", 1.2),
        ("faded", "mandelbrot=size={s}:rate={r},eq=contrast=0.2:brightness=0.3:saturation=0.3", 1.5),
        ("sharp", "mandelbrot=size={s}:rate={r}", 1.2),
        ("blurred", "smptehdbars=size={s}:rate={r},boxblur=12:2", 1.2),
        ("faded", "testsrc=size={s}:rate={r},eq=contrast=0.15:brightness=-0.25", 1.2),
        ("sharp", "testsrc=size={s}:rate={r},hue=h=60", 1.2),
        ("black", "color=c=0x080808:size={s}:rate={r}", 0.8),
    ]
    inputs: list[str] = []
    labels = ""
    segments: list[tuple[str, float, float]] = []
    t = 0
    for i, (kind, src, seconds) in enumerate(plan):
        count = round(seconds * fps)
        inputs += ["-f", "lavfi", "-i", f"{src.format(s=size, r=fps)},trim=end_frame={count}"]
        labels += f"[{i}:v]format=yuv420p,setsar=1,setpts=PTS-STARTPTS[v{i}];"
        segments.append((kind, t / fps, (t + count) / fps))
        t += count
    graph = labels + "".join(f"[v{i}]" for i in range(len(plan))) + f"concat=n={len(plan)}:v=1:a=0[out]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-crf", "14",
           "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return QualitySegments(path, segments)


# ---------------------------------------------------------------- logo over smooth / moving content
@dataclass
class LogoVideo:
    path: Path
    clean: Path  # the same video without the logo
    box: tuple[int, int, int, int]  # x, y, w, h in pixels
    size: tuple[int, int]

    @property
    def box_norm(self) -> list[float]:
        w, h = self.size
        x, y, bw, bh = self.box
        return [x / w, y / h, bw / w, bh / h]


def _draw_logo(img: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """A typical broadcaster bug: half-transparent white plate with dark letters and a ring."""
    x, y, w, h = box
    roi = img[y : y + h, x : x + w].astype(np.float32)
    roi = 0.45 * roi + 0.55 * np.array([235, 235, 235], np.float32)
    img[y : y + h, x : x + w] = roi.astype(np.uint8)
    cv2.putText(
        img, "TV", (x + 6, y + h - 10), cv2.FONT_HERSHEY_DUPLEX, h / 40, (30, 30, 160), 2, cv2.LINE_AA
    )
    cv2.circle(img, (x + w - h // 2, y + h // 2), h // 3, (160, 40, 30), 3, cv2.LINE_AA)


def logo_video(
    path: Path, *, seconds: float = 4.0, size: tuple[int, int] = (640, 360), fps: int = 25,
    box: tuple[int, int, int, int] = (520, 18, 96, 44), balls: int = 3, tone: bool = False,
) -> LogoVideo:  # fmt: skip
    """Smooth drifting background + bouncing balls kept away from the logo, a static logo in ``box``."""
    w, h = size
    clean_frames: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    for i in range(round(seconds * fps)):
        t = i / fps
        img = smooth_background(w, h, t)
        for k in range(balls):
            _ball(img, t, seed=10 + k, region=(20, int(h * 0.3), w - 20, h - 10))
        clean_frames.append(img.copy())
        _draw_logo(img, box)
        frames.append(img)
    clean = path.with_name(path.stem + ".clean.mp4")
    encode(clean, clean_frames, fps)
    encode(path, frames, fps, tone=tone)
    return LogoVideo(path, clean, box, size)


# ---------------------------------------------------------------- captions with known timings
@dataclass
class CaptionVideo:
    path: Path
    clean: Path
    cues: list[tuple[float, float, str]]
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # x, y, w, h per cue
    size: tuple[int, int] = (640, 360)
    fps: int = 25


def caption_video(
    path: Path, cues: list[tuple[float, float, str]], *, seconds: float = 6.0,
    size: tuple[int, int] = (640, 360), fps: int = 25, y_frac: float = 0.86, tone: bool = False,
) -> CaptionVideo:  # fmt: skip
    """Smooth background with balls above, white captions with a dark outline at the bottom."""
    w, h = size
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.9, 2
    boxes: list[tuple[int, int, int, int]] = []
    origins: list[tuple[int, int]] = []
    for _, _, text in cues:
        (tw, th), base = cv2.getTextSize(text, font, scale, thick + 3)
        x, y = (w - tw) // 2, int(h * y_frac)  # y is the baseline
        origins.append((x, y))
        boxes.append((x - 4, y - th - 4, tw + 8, th + base + 8))
    clean_frames: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    for i in range(round(seconds * fps)):
        t = i / fps
        img = smooth_background(w, h, t)
        for k in range(2):
            _ball(img, t, seed=30 + k, region=(20, 10, w - 20, int(h * 0.6)))
        clean_frames.append(img.copy())
        for (start, end, text), org in zip(cues, origins, strict=True):
            if start <= t < end:
                cv2.putText(img, text, org, font, scale, (20, 20, 20), thick + 3, cv2.LINE_AA)
                cv2.putText(img, text, org, font, scale, (250, 250, 250), thick, cv2.LINE_AA)
        frames.append(img)
    clean = path.with_name(path.stem + ".clean.mp4")
    encode(clean, clean_frames, fps)
    encode(path, frames, fps, tone=tone)
    return CaptionVideo(path, clean, cues, boxes, size, fps)


# ---------------------------------------------------------------- green screen with known mattes
@dataclass
class GreenScreen:
    path: Path
    masks: list[np.ndarray]  # bool (h, w) per frame: True = foreground
    size: tuple[int, int]
    fps: int


def green_screen_video(
    path: Path, *, seconds: float = 3.0, size: tuple[int, int] = (640, 360), fps: int = 25,
    shading: bool = True, tone: bool = False,
) -> GreenScreen:  # fmt: skip
    """Moving coloured shapes (red disc, blue box, skin-tone ellipse, white/yellow bar) on green."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    # Real green screens are unevenly lit: a gentle vignette of brightness.
    light = 1.0 - 0.18 * (((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2) * 4 if shading else 1.0
    green = np.dstack([60 * light, 185 * light, 70 * light]).astype(np.uint8)
    frames: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    draw: list[Callable[[np.ndarray, float, tuple[int, ...]], None]] = [
        lambda im, t, c: cv2.circle(im, (int(120 + 60 * t), int(120 + 20 * np.sin(2 * t))), 60, c, -1),
        lambda im, t, c: cv2.rectangle(im, (int(420 - 40 * t), 60), (int(540 - 40 * t), 220), c, -1),
        lambda im, t, c: cv2.ellipse(im, (320, int(250 - 15 * t)), (70, 90), 10 * t, 0, 360, c, -1),
        lambda im, t, c: cv2.rectangle(im, (int(30 + 50 * t), 290), (int(230 + 50 * t), 330), c, -1),
    ]
    colours = [(40, 40, 210), (200, 90, 30), (150, 180, 225), (40, 230, 240)]
    for i in range(round(seconds * fps)):
        t = i / fps
        img = green.copy()
        mask = np.zeros((h, w), np.uint8)
        for shape, colour in zip(draw, colours, strict=True):
            shape(img, t, colour)
            shape(mask, t, (255,))
        frames.append(img)
        masks.append(mask > 0)
    encode(path, frames, fps, crf=10, tone=tone)
    return GreenScreen(path, masks, size, fps)


def write_image(path: Path, img: np.ndarray) -> Path:
    cv2.imwrite(str(path), img)
    return path
