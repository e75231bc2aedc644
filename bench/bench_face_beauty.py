"""FaceBeauty speed on a generated clip (median of 3 runs as x real time, against plain decoding), and with
``--matrix`` the face detector's recall and false hits on the full face matrix (``tests/mediagen/faces.py``),
BlazeFace against the LBP cascade it replaced (read from git at BASELINE, not kept in the engine).

Run from the repository root: ``.venv/bin/python -m bench.bench_face_beauty [--matrix [--seeds N]]``.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mediagen import faces, motion  # noqa: E402

BASELINE = "392057b"  # last commit with the LBP cascade in _faces.py

Box = tuple[float, float, float, float]


def _old_detector() -> Callable[[np.ndarray], list[Box]]:
    src = subprocess.run(
        ["git", "show", f"{BASELINE}:airflow_iprod/local/algorithms/_faces.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "lbp_faces.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("lbp_faces", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lbp_faces"] = mod  # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    return lambda img: [(f.x, f.y, f.w, f.h) for f in mod.detect(img)]


def _new_detector() -> Callable[[np.ndarray], list[Box]]:
    from airflow_iprod.local.algorithms import _faces

    return lambda img: [(f.x, f.y, f.w, f.h) for f in _faces.detect(img)]


def matrix(seeds: int) -> None:
    detectors = {"LBP cascade": _old_detector(), "BlazeFace": _new_detector()}
    cells = faces.full_matrix()
    per: dict[str, dict[faces.Cell, list[int]]] = {n: {} for n in detectors}
    cpu = dict.fromkeys(detectors, 0.0)
    for cell in cells:
        for seed in range(seeds):
            fr = faces.frame(cell, seed)
            for name, det in detectors.items():
                t = time.process_time()
                boxes = det(fr.image)
                cpu[name] += time.process_time() - t
                found, false = faces.score(boxes, fr.boxes)
                acc = per[name].setdefault(cell, [0, 0, 0])
                acc[0] += found
                acc[1] += len(fr.boxes)
                acc[2] += false
    frames = len(cells) * seeds
    print(f"# Face matrix: {len(cells)} cells x {seeds} seeds = {frames} frames of {faces.W}x{faces.H}\n")
    print(
        "| detector | faces found | recall | false hits | cells at recall 1.0 | cells at 0 | CPU per frame |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in detectors:
        f = sum(v[0] for v in per[name].values())
        n = sum(v[1] for v in per[name].values())
        fp = sum(v[2] for v in per[name].values())
        full = sum(v[0] == v[1] for v in per[name].values())
        zero = sum(v[0] == 0 for v in per[name].values())
        ms = cpu[name] / frames * 1000
        print(f"| {name} | {f}/{n} | {f / n:.3f} | {fp} | {full}/{len(cells)} | {zero} | {ms:.0f} ms |")
    for axis, values in faces.AXES.items():
        print(f"\n| {axis} | " + " | ".join(f"{n} recall (false hits)" for n in detectors) + " |")
        print("|---|" + "---|" * len(detectors))
        for v in values:
            row = []
            for name in detectors:
                sel = [acc for c, acc in per[name].items() if getattr(c, axis) == v]
                f, n, fp = (sum(a[i] for a in sel) for i in range(3))
                row.append(f"{f / n:.3f} ({fp})")
            print(f"| {v} | " + " | ".join(row) + " |")
    worst = sorted(per["BlazeFace"].items(), key=lambda kv: (kv[1][0] / kv[1][1], -kv[1][2]))[:15]
    print("\nBlazeFace's 15 worst cells (found/faces, false hits):\n")
    for c, (f, n, fp) in worst:
        print(f"* {c.name}: {f}/{n}, {fp}")
    pairs = collections.Counter()
    for c, (f, n, _) in per["BlazeFace"].items():
        pairs[(c.source, c.size)] += 0
        if f < n:
            pairs[(c.source, c.size)] += n - f
    print(
        "\nBlazeFace faces missed by source and size: "
        + ", ".join(f"{s}/{z}px {m}" for (s, z), m in sorted(pairs.items()))
    )


def speed() -> None:
    from bench._video_bench import bench

    bench(
        "FaceBeauty",
        lambda root: motion.face_video(root / "face.mp4", seconds=4.0).path,
        {"beauty_params": {"whiten": 20, "smooth": 50, "face_thin": 50}},
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--matrix", action="store_true", help="face recall matrix instead of FaceBeauty speed")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    matrix(args.seeds) if args.matrix else speed()
