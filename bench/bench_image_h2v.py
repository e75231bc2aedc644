"""ImageH2V speed on generated images: median of 3 runs, images per second (2 threads).

Run from the repository root: ``.venv/bin/python -m bench.bench_image_h2v``.
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
        "ImageH2V",
        {
            "subject 640x360": images.subject_image(640, 360, 200, 200).image,
            "subject 1920x1080": cv2.resize(images.subject_image(640, 360, 200, 200).image, (1920, 1080)),
        },
    )
