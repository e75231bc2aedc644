"""ImageCartoonize speed on generated images: median of 3 runs, images per second (2 threads).

Run from the repository root: ``.venv/bin/python -m bench.bench_image_cartoonize``.
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
        "ImageCartoonize",
        {
            "astronaut 512x512": images.astronaut(),
            "astronaut 1536x1536": cv2.resize(images.astronaut(), (1536, 1536)),
        },
    )
