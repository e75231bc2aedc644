"""Shared timing loop for the music algorithms' benchmarks: median of 3 runs, as x real time."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms._audio_decode import decode_audio
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext, OutputTarget


def time_algorithm(
    function_name: str, src: Path, seconds: float, tmp: Path, params: dict[str, Any] | None = None
) -> AlgorithmResult:
    def new_output(sequence_id: int | None = None, result_type: str | None = None, ext: str | None = None):
        path = tmp / f"out-{result_type or sequence_id or 0}{ext or ''}"
        return OutputTarget(path, f"oss://b/{path.name}", sequence_id, result_type)

    ctx = JobContext(function_name, "ice", src, dict(params or {}), None, tmp, new_output, Path, threads=2)
    run = load(function_name)
    run(ctx)  # warm-up: librosa's JIT and imports are paid once per worker process, not per job
    times, result = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        result = run(ctx)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    decode_audio(src)
    decode = time.perf_counter() - t0
    med = statistics.median(times)
    print(
        f"{function_name}, {seconds:.0f} s input: median {med:.2f} s = {seconds / med:.1f}x real time "
        f"(2 threads, warm process); decode alone {decode * 1000:.0f} ms"
    )
    assert result is not None
    return result


def run_in_process(function_name: str, src: Path, tmp: Path) -> Any:
    """One job's Result, run in this process (no timing): for the quality matrices."""

    def new_output(sequence_id: int | None = None, result_type: str | None = None, ext: str | None = None):
        path = tmp / f"out-{result_type or sequence_id or 0}{ext or ''}"
        return OutputTarget(path, f"oss://b/{path.name}", sequence_id, result_type)

    ctx = JobContext(function_name, "ice", src, {}, None, tmp, new_output, Path, threads=2)
    return load(function_name)(ctx).result


def summarise(rows: list[dict[str, Any]], axes: list[str], metric: str) -> None:
    """Per-axis worst and mean of ``metric`` over the cells, then the worst cell overall."""
    for axis in axes:
        values = sorted(
            {str(r[axis]) for r in rows}, key=lambda v: next(r[axis] for r in rows if str(r[axis]) == v)
        )
        parts = []
        for v in values:
            xs = [r[metric] for r in rows if str(r[axis]) == v]
            parts.append(f"{v}: min {min(xs):.3f} mean {statistics.mean(xs):.3f}")
        print(f"  {axis:8s} " + " | ".join(parts))
    worst = min(rows, key=lambda r: r[metric])
    below = [r for r in rows if r[metric] < worst.get("bar", 0)]
    print(
        f"  worst cell {worst['cell']}: {metric} {worst[metric]:.3f}; "
        f"{len(rows)} cells, {len(below)} below the bar"
    )
