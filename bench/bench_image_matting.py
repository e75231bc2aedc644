"""ImageMatting speed on generated images: median of 3 runs, images per second (2 threads).

Run from the repository root: ``.venv/bin/python -m bench.bench_image_matting``.
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
        "ImageMatting",
        {
            "person 640x480": images.person_image(seed=1).image,
            "person 1280x960": cv2.resize(images.person_image(seed=1).image, (1280, 960)),
        },
    )
