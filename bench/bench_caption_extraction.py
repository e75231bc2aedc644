"""CaptionExtraction: speed against plain decoding, and quality on the full caption matrix.

Run by hand:

* ``.venv/bin/python bench/bench_caption_extraction.py speed``: a 23 s 640x360 testsrc2 clip with English
  then Chinese captions; median of 3 runs of plain decoding and of CaptionExtraction (fps 5, ch_ml).
* ``.venv/bin/python bench/bench_caption_extraction.py matrix [--cells pairwise|full] [--out FILE]``:
  renders each cell of ``tests/mediagen/caption_matrix`` and scores the SRT cell by cell (CER, lost and
  spurious cues, timing); prints and writes (default ``bench/caption_results.md``) the worst cell per
  axis value, the failing cells and the worst cell overall. ``--shard K/N --dump FILE`` runs every N-th
  cell from the K-th and keeps its per-cell results; ``merge FILE... [--out FILE]`` reports the shards
  as one run (shards run side by side as separate processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms._srt import Cue, parse_srt
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import caption_matrix
from tests.mediagen.caption_score import Score, score
from tests.mediagen.captions import CHINESE, ENGLISH, caption_clip

SECONDS = 23.0
BARS = {"en": 0.01, "zh": 0.02}


def decode_all(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass


def extract(path: Path, work: Path, params: dict) -> list[Cue]:
    def new_output(sequence_id=None, result_type=None, ext=None) -> OutputTarget:
        return OutputTarget(work / f"out{ext or ''}", "oss://bench/out.srt")

    full = {"fps": 5, "lang": "ch", "roi": [[0.75, 1.0], [0.0, 1.0]], **params}
    ctx = JobContext("CaptionExtraction", "ice", path, full, None, work, new_output, Path, threads=2)
    ctx.log = lambda message: None  # type: ignore[method-assign]
    load("CaptionExtraction")(ctx)
    return parse_srt((work / "out.srt").read_text(encoding="utf-8"))


def median_time(fn, runs: int = 3) -> tuple[float, float]:
    """Median wall and process-CPU seconds (CPU shows the cost when other work shares the machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def speed() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-captions-"))
    cues = list(ENGLISH) + [(a + 11.5, b + 11.5, t) for a, b, t in CHINESE]
    clip = caption_clip(work / "bench.mp4", cues, background="testsrc2", seconds=SECONDS)
    decode, decode_cpu = median_time(lambda: decode_all(clip.path))
    run, run_cpu = median_time(lambda: extract(clip.path, work, {"lang": "ch_ml"}))
    print(
        f"clip: {SECONDS:.0f} s 640x360 25 fps testsrc2, 8 captions (English then Chinese), fps=5, 2 threads"
    )
    print(
        f"plain decode     : {decode:6.2f} s wall"
        f" ({SECONDS / decode:6.1f} x real time), {decode_cpu:.2f} s CPU"
    )
    print(f"CaptionExtraction: {run:6.2f} s wall ({SECONDS / run:6.2f} x real time), {run_cpu:.2f} s CPU")


def passes(cell: caption_matrix.Cell, s: Score) -> bool:
    return s.cer <= BARS[cell.lang] and not s.lost and not s.spurious and s.timing_ok(caption_matrix.FPS)


def matrix(which: str, out: Path, shard: tuple[int, int] = (1, 1), dump: Path | None = None) -> None:
    everything = caption_matrix.full() if which == "full" else list(caption_matrix.PAIRWISE)
    k, n_shards = shard
    cells = everything[k - 1 :: n_shards]
    work = Path(tempfile.mkdtemp(prefix="bench-caption-matrix-"))
    results: list[tuple[caption_matrix.Cell, Score, float, float]] = []
    for n, cell in enumerate(cells, 1):
        clip = caption_matrix.make(cell, work)
        start = time.perf_counter()
        found = extract(clip.path, work, cell.params)
        took = time.perf_counter() - start
        s = score(clip.truth, found)
        results.append((cell, s, took, clip.seconds))
        flag = "ok  " if passes(cell, s) else "FAIL"
        print(f"[{n:3}/{len(cells)}] {flag} {cell.name}: {s.summary()} ({took:.1f} s)", flush=True)
        if not passes(cell, s):
            print(f"      lost {s.lost} spurious {s.spurious}", flush=True)
        clip.path.unlink()
        # Rewritten after every cell: a run stopped part way still leaves its figures.
        out.write_text(report(which, len(everything), results), encoding="utf-8")
        if dump is not None:
            dump.write_text(json.dumps([_row(*r) for r in results]), encoding="utf-8")
    print(report(which, len(everything), results))


def _row(cell: caption_matrix.Cell, s: Score, took: float, seconds: float) -> dict:
    score_row = dataclasses.asdict(s)
    return {"cell": dataclasses.asdict(cell), "score": score_row, "took": took, "seconds": seconds}


def merge(which: str, dumps: list[Path], out: Path) -> None:
    """One report from the per-cell results of shards run side by side (``--shard K/N --dump FILE``)."""
    results = [
        (caption_matrix.Cell(**row["cell"]), Score(**row["score"]), row["took"], row["seconds"])
        for dump in dumps
        for row in json.loads(dump.read_text(encoding="utf-8"))
    ]
    total = len(caption_matrix.full() if which == "full" else caption_matrix.PAIRWISE)
    note = f"Merged from {len(dumps)} shards run side by side (each cell timed in its own shard)."
    out.write_text(report(which, total, results, note), encoding="utf-8")
    print(report(which, total, results, note))


def report(
    which: str, total: int, results: list[tuple[caption_matrix.Cell, Score, float, float]], note: str = ""
) -> str:
    title = f"# CaptionExtraction on the caption matrix ({which}: {len(results)} of {total} cells"
    title += f", fps {caption_matrix.FPS})"
    lines = [title, ""]
    failing = [(c, s) for c, s, _, _ in results if not passes(c, s)]
    lines.append(f"Cells meeting every bar: {len(results) - len(failing)}/{len(results)}.")
    for lang in ("en", "zh"):
        mine = [(c, s) for c, s, _, _ in results if c.lang == lang]
        if mine:
            worst = max(mine, key=lambda cs: cs[1].cer)
            lines.append(
                f"{lang}: worst CER {worst[1].cer:.1%} ({worst[0].name}); mean CER "
                f"{statistics.mean(s.cer for _, s in mine):.2%}; lost {sum(len(s.lost) for _, s in mine)}, "
                f"spurious {sum(len(s.spurious) for _, s in mine)} over {len(mine)} cells"
            )
    speed = sum(sec for *_, sec in results) / sum(took for _, _, took, _ in results)
    speed_line = f"Speed over the matrix: {speed:.2f}x real time (wall, model load included). {note}"
    lines += ["", speed_line.rstrip(), ""]
    lines += ["| axis | value | cells | worst CER | lost | spurious | worst timing err (s) |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for axis, values in caption_matrix.AXES.items():
        for value in values:
            mine = [s for c, s, _, _ in results if getattr(c, axis) == value]
            if not mine:
                continue
            lines.append(
                f"| {axis} | {value} | {len(mine)} | {max(s.cer for s in mine):.1%} | "
                f"{sum(len(s.lost) for s in mine)} | {sum(len(s.spurious) for s in mine)} | "
                f"{max(max(s.start_error, s.end_error) for s in mine):.2f} |"
            )
    lines += ["", "Failing cells:", ""]
    lines += [f"* {c.name}: {s.summary()}; lost {s.lost}; spurious {s.spurious}" for c, s in failing]
    lines += [] if failing else ["* none"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speed", "matrix", "merge"], nargs="?", default="speed")
    parser.add_argument("--cells", choices=["pairwise", "full"], default="full")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("caption_results.md"))
    parser.add_argument("--shard", default="1/1", help="K/N: run every N-th cell from the K-th (matrix)")
    parser.add_argument("--dump", type=Path, help="write the per-cell results here as JSON (matrix)")
    parser.add_argument("dumps", type=Path, nargs="*", help="the shards' --dump files (merge)")
    args = parser.parse_intermixed_args()
    if args.what == "speed":
        speed()
    elif args.what == "merge":
        merge(args.cells, args.dumps, args.out)
    else:
        k, n = (int(x) for x in args.shard.split("/"))
        if not 1 <= k <= n:
            parser.error(f"--shard {args.shard}: K/N with 1 <= K <= N required")
        matrix(args.cells, args.out, (k, n), args.dump)


if __name__ == "__main__":
    main()
