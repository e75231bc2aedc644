"""FaceBeauty speed on a generated clip: median of 3 runs as x real time, against plain decoding.

Run from the repository root: ``.venv/bin/python -m bench.bench_face_beauty``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._video_bench import bench
from tests.mediagen import motion

if __name__ == "__main__":
    bench(
        "FaceBeauty",
        lambda root: motion.face_video(root / "face.mp4", seconds=4.0).path,
        {"beauty_params": {"whiten": 20, "smooth": 50, "face_thin": 50}},
    )
