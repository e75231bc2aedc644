"""Draw timed captions in a given font, style, size and place over a generated background.

``render(path, background_frames, cues, ...)`` pipes the background frames to ffmpeg as raw RGB and draws
each cue with drawtext, visible on frames with ``start <= t < end``; the truth SRT goes beside the clip.
Styles (white text throughout, as most subtitles are):

* ``plain``: text only.
* ``outlined``: a 2-pixel black border.
* ``shadowed``: a soft drop shadow (black at 80%, 2 px down and right).
* ``box``: an opaque black box behind the line.
* ``translucent``: a black box at 50% behind the line (the background shows through).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms._srt import Cue, write_srt
from tests.mediagen.captions import FFMPEG, CaptionClip, _escape

STYLES: dict[str, str] = {
    "plain": "fontcolor=white",
    "outlined": "fontcolor=white:borderw=2:bordercolor=black",
    "shadowed": "fontcolor=white:shadowx=2:shadowy=2:shadowcolor=black@0.8",
    "box": "fontcolor=white:box=1:boxcolor=black:boxborderw=6",
    "translucent": "fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6",
}
# Where a line sits: (x expression, y as a fraction of the height of the line's centre).
PLACES: dict[str, tuple[str, float]] = {
    "bottom": ("(w-tw)/2", 0.9),
    "lower-left": ("24", 0.82),
    "top": ("(w-tw)/2", 0.1),
}


def render(
    path: Path,
    background: Iterable[np.ndarray],
    cues: list[tuple[float, float, str]],
    *,
    font: Path,
    face: str = "",
    style: str,
    fontsize: int,
    place: str,
    seconds: float,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
) -> CaptionClip:
    w, h = size
    x, y = PLACES[place]
    tmp = Path(tempfile.mkdtemp(prefix="caption-matrix-"))
    # A face inside a collection is chosen by its fontconfig family; drawtext takes face 0 of a file.
    which = f"font='{face}'" if face else f"fontfile='{_escape(font)}'"
    filters = []
    for i, (start, end, text) in enumerate(cues):
        text_file = tmp / f"cue{i}.txt"
        text_file.write_text(text, encoding="utf-8")
        filters.append(
            f"drawtext={which}:textfile='{_escape(text_file)}':fontsize={fontsize}:"
            f"{STYLES[style]}:x={x}:y={round(y * h)}-th/2:enable='gte(t,{start})*lt(t,{end})'"
        )
    args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0"]
    args += ["-vf", ",".join(filters), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23"]
    args += ["-pix_fmt", "yuv420p", "-t", str(seconds), str(path)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for frame in background:
            proc.stdin.write(frame.tobytes())
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed drawing {path}")
    truth = [Cue(a, b, text) for a, b, text in cues]
    truth_srt = path.with_name(path.stem + ".truth.srt")
    write_srt(truth, truth_srt)
    return CaptionClip(path, truth, truth_srt, seconds, size)
