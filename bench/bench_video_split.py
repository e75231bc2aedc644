"""VideoSplit speed on a generated clip: median of 3 runs as x real time, against plain decoding.

Run from the repository root: ``.venv/bin/python -m bench.bench_video_split``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._video_bench import bench
from tests.mediagen import slides

if __name__ == "__main__":
    bench(
        "VideoSplit",
        lambda root: slides.slide_video(root / "slides.mp4", plan=(4.0, 3.0, 5.0, 4.0, 4.0)).path,
        None,
    )
