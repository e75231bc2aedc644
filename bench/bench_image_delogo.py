"""ImageDelogo speed on generated images: median of 3 runs, images per second (2 threads).

Run from the repository root: ``.venv/bin/python -m bench.bench_image_delogo``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from bench._image_bench import bench
from tests.mediagen import images

if __name__ == "__main__":
    bench(
        "ImageDelogo",
        {
            "logo 640x360": images.logo_image()[0],
            "logo 1920x1080": cv2.resize(images.logo_image()[0], (1920, 1080)),
        },
    )
