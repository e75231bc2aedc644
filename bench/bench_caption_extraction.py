"""Speed of CaptionExtraction (x real time) at fps 5 against plain decoding of the same file.

Run by hand: ``.venv/bin/python bench/bench_caption_extraction.py``. Generates a 640x360 testsrc2 clip
(moving background) with English and Chinese captions, then prints the median of 3 runs of each.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen.captions import CHINESE, ENGLISH, caption_clip

SECONDS = 23.0


def decode_all(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass


def extract(path: Path, work: Path, lang: str) -> None:
    def new_output(sequence_id=None, result_type=None, ext=None) -> OutputTarget:
        return OutputTarget(work / f"out{ext or ''}", "oss://bench/out.srt")

    ctx = JobContext(
        "CaptionExtraction", "ice", path, {"fps": 5, "lang": lang}, None, work, new_output, Path, threads=2
    )
    load("CaptionExtraction")(ctx)


def median_time(fn, runs: int = 3) -> tuple[float, float]:
    """Median wall and process-CPU seconds (CPU shows the cost when other work shares the machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-captions-"))
    cues = list(ENGLISH) + [(a + 11.5, b + 11.5, t) for a, b, t in CHINESE]
    clip = caption_clip(work / "bench.mp4", cues, background="testsrc2", seconds=SECONDS)
    decode, decode_cpu = median_time(lambda: decode_all(clip.path))
    run, run_cpu = median_time(lambda: extract(clip.path, work, "ch_ml"))
    print(
        f"clip: {SECONDS:.0f} s 640x360 25 fps testsrc2, 8 captions (English then Chinese), fps=5, 2 threads"
    )
    print(
        f"plain decode     : {decode:6.2f} s wall"
        f" ({SECONDS / decode:6.1f} x real time), {decode_cpu:.2f} s CPU"
    )
    print(f"CaptionExtraction: {run:6.2f} s wall ({SECONDS / run:6.2f} x real time), {run_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
