"""Shared timing for the image algorithm benchmarks: images per second, median of 3 runs each."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget


def bench(function_name: str, images: dict[str, np.ndarray], threads: int = 2) -> None:
    cv2.setNumThreads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, img in images.items():
            src = root / f"{name}.png"
            cv2.imwrite(str(src), img)
            out = root / "out.png"
            ctx = JobContext(function_name, "mts", src, {}, None, root, lambda out=out, **_: OutputTarget(
                out, "oss://bench/out.png"), Path, threads)  # fmt: skip
            load(function_name)(ctx)  # warm-up: imports, cascade load
            times = []
            for _ in range(3):
                start = time.perf_counter()
                load(function_name)(ctx)
                times.append(time.perf_counter() - start)
            med = statistics.median(times)
            print(f"{function_name} {name} {img.shape[1]}x{img.shape[0]}, threads={threads}: "
                  f"median {med:.2f} s = {1 / med:.2f} images/s")  # fmt: skip
