"""Shared timing for the video algorithm benchmarks: median of 3 runs vs plain decoding of the same file.

Besides wall time it prints CPU seconds (this process, its threads and its ffmpeg children) and the
load average: on a shared machine the wall figure moves with the load, CPU seconds much less.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_iprod.local.algorithms import _video, load
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget


def bench(function_name: str, make_input: Callable[[Path], Path], params: dict[str, Any] | None = None,
          model_id: str | None = None, threads: int = 2) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = make_input(root)
        info = _video.probe(src)

        def cpu() -> float:
            own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

        def run_once() -> tuple[float, float]:
            work = root / "work"
            work.mkdir(exist_ok=True)

            def new_output(sequence_id: int | None = None, result_type: str | None = None,
                           ext: str | None = None) -> OutputTarget:  # fmt: skip
                path = root / f"out-{sequence_id}{ext or ''}"
                return OutputTarget(path, f"oss://bench/{path.name}", sequence_id, result_type)

            ctx = JobContext(function_name, "ice", src, dict(params or {}), model_id, work, new_output,
                             lambda url: Path(url), threads)  # fmt: skip
            start, used = time.perf_counter(), cpu()
            load(function_name)(ctx)
            return time.perf_counter() - start, cpu() - used

        def decode_once() -> tuple[float, float]:
            start, used = time.perf_counter(), cpu()
            for _ in _video.iter_frames(src, threads=threads):
                pass
            return time.perf_counter() - start, cpu() - used

        load(function_name)  # import outside the timing
        runs = [run_once() for _ in range(3)]
        decodes = [decode_once() for _ in range(3)]
        algo, plain = statistics.median(r[0] for r in runs), statistics.median(d[0] for d in decodes)
        algo_cpu, plain_cpu = statistics.median(r[1] for r in runs), statistics.median(d[1] for d in decodes)
        print(f"{function_name}: {info.width}x{info.height} {info.duration:.1f} s, threads={threads}: "
              f"{algo:.2f} s = {info.duration / algo:.2f}x real time; plain decode (bgr24) {plain:.2f} s = "
              f"{info.duration / plain:.1f}x real time; algorithm/decode = {algo / plain:.1f}")  # fmt: skip
        print(f"    CPU: algorithm {algo_cpu:.2f} s = {info.duration / algo_cpu:.2f}x real time per CPU s; "
              f"decode {plain_cpu:.2f} s; algorithm/decode = {algo_cpu / plain_cpu:.1f}; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
