"""VideoSplit (MPS): cut a slide (PPT) recording into one clip per slide.

Slides are long still stretches joined by short transitions (cuts, fades, wipes). Grey frames at
10 samples a second, 160 px wide, are compared with the sample 0.4 s earlier (so a slow fade adds
up): the share of pixels that changed by more than a few grey levels, counted per cell of an 8x6
grid. A cursor, a blinking caret or a small animation changes a few cells; a slide change most of
them. Hysteresis (enter above ``HIGH``, stay while above ``LOW``)
turns each transition into one event, however many frames a fade lasts; the event is kept only if
the still picture after it really differs from the one before it (a flash or a pop-up that goes
away is not a new slide). The boundary is the middle of the transition. Clips are cut with one
ffmpeg pass (key frames forced at the boundaries, segment muxer), audio included.

Result (the docs show none for VideoSplit): ``{"Clips": [{"StartTime", "EndTime", "Url"}, ...]}``,
seconds, one entry per written clip, in order; output names come from ``{sequenceId}`` = 0, 1, ...
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from airflow_iprod.local.algorithms import _video
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

RATE = 10.0  # analysis samples per second
WIDTH = 160
PIXEL_DELTA = 12  # grey levels for a pixel to count as changed
GRID = (8, 6)  # cells across, down: change is measured as the share of cells that changed
CELL_CHANGED = 0.02  # share of a cell's pixels that must change for the cell to count
HIGH = 0.2  # changed-cell share that starts a transition
LOW = 0.1  # changed-cell share below which it has ended
NEW_SLIDE = 0.25  # changed-cell share between the stills around a transition for it to be a new slide
LAG = 4  # samples between the frames compared
MIN_SLIDE = 1.0  # seconds: a slide shorter than this merges into its neighbour


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Share of grid cells with changed pixels: a moving cursor touches a few cells, a new slide most."""
    moved = (cv2.absdiff(a, b) > PIXEL_DELTA).astype(np.float32)
    cells = cv2.resize(moved, GRID, interpolation=cv2.INTER_AREA)
    return float(np.mean(cells > CELL_CHANGED))


def find_changes(path: Path, threads: int = 1) -> tuple[list[float], float]:
    """Slide-change times (seconds) and the video duration."""
    info = _video.probe(path)
    height = max(2, round(info.height * WIDTH / info.width / 2) * 2)
    times: list[float] = []
    frames: list[np.ndarray] = []
    for f in _video.iter_frames(path, threads=threads, rate=RATE, size=(WIDTH, height), fmt="gray"):
        times.append(f.time)
        frames.append(cv2.GaussianBlur(f.image, (3, 3), 0))
    if not frames:
        raise AlgorithmError("Input: no video frame could be decoded")
    duration = max(info.duration, times[-1] + 1 / float(info.fps))
    # Compare with the sample LAG back: a slow fade changes little from one sample to the next but
    # a lot over LAG samples; a hard cut then stays "on" for LAG samples, which the boundary allows for.
    n = len(frames)
    diffs = [0.0] * LAG + [_changed(frames[i], frames[i - LAG]) for i in range(LAG, n)]
    changes: list[float] = []
    i = LAG
    while i < n:
        if diffs[i] < HIGH:
            i += 1
            continue
        start = i
        while i < n and diffs[i] >= LOW:
            i += 1
        end = i  # first calm sample after the transition (or the end)
        if _changed(frames[start - LAG], frames[min(end, n - 1)]) >= NEW_SLIDE:
            mid = (times[start] + times[end - 1]) / 2
            changes.append(mid - (LAG - 1) / (2 * RATE) - 0.5 / RATE)
    kept: list[float] = []
    for t in changes:
        if t < MIN_SLIDE or duration - t < MIN_SLIDE:
            continue
        if kept and t - kept[-1] < MIN_SLIDE:
            continue
        kept.append(t)
    return kept, duration


def run(ctx: JobContext) -> AlgorithmResult:
    changes, duration = find_changes(ctx.input_path, ctx.threads)
    ctx.log(f"slide changes at {[round(t, 2) for t in changes]} s of {duration:.2f} s")
    info = _video.probe(ctx.input_path)
    work = Path(ctx.workdir) / "split"
    work.mkdir(parents=True, exist_ok=True)
    pattern = work / "clip%04d.mp4"
    audio = ["-c:a", "aac", "-b:a", "160k"] if info.has_audio else ["-an"]
    cuts = ",".join(f"{t:.3f}" for t in changes)
    seg = ["-f", "segment", "-reset_timestamps", "1"]
    if changes:
        seg += ["-segment_times", cuts, "-force_key_frames", cuts]
    else:
        seg += ["-segment_time", str(duration + 10)]
    _video.run_ffmpeg(
        ["-threads", str(ctx.threads), "-i", str(ctx.input_path), "-map", "0:v:0", *(
            ["-map", "0:a:0"] if info.has_audio else []), "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "18", "-pix_fmt", "yuv420p", *audio, *seg, str(pattern)],
        "splitting the slides",
    )  # fmt: skip
    bounds = [0.0, *changes, duration]
    outputs, clips = [], []
    for i in range(len(bounds) - 1):
        src = work / f"clip{i:04d}.mp4"
        if not src.exists():
            raise AlgorithmError(f"splitting the slides: clip {i} was not written")
        target = ctx.new_output(sequence_id=i, ext=".mp4")
        shutil.move(str(src), target.path)
        outputs.append(target)
        clips.append(
            {"StartTime": round(bounds[i], 3), "EndTime": round(bounds[i + 1], 3), "Url": target.url}
        )
    return AlgorithmResult(outputs=outputs, result={"Clips": clips})
