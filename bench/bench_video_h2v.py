"""VideoH2V speed on a generated clip: median of 3 runs as x real time, against plain decoding.

Run from the repository root: ``.venv/bin/python -m bench.bench_video_h2v``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._video_bench import bench
from tests.mediagen import motion

if __name__ == "__main__":
    bench("VideoH2V", lambda root: motion.panning_subject_video(root / "pan.mp4", seconds=10.0).path, None)
