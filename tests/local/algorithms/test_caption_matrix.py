"""CaptionExtraction on the caption matrix (tests/mediagen/caption_matrix.py), bars asserted cell by cell.

CI runs the pairwise cover of the axes (every pair of values of any two axes: font, style, background,
size, place, timing) plus the worst known cell of each axis. The full matrix runs by hand:
``bench/bench_caption_extraction.py matrix``. Bars per cell: CER <= 1% English, <= 2% Chinese; no cue
lost; no spurious cue (text that is not on screen, or a cue split in two); both ends of every cue
within one sample interval (1 / fps) of the truth.
"""

from __future__ import annotations

import pytest

from airflow_iprod.local.algorithms._srt import parse_srt
from tests.mediagen import caption_matrix
from tests.mediagen.caption_matrix import Cell
from tests.mediagen.caption_score import score

BARS = {"en": 0.01, "zh": 0.02}

# The hardest cells found in the full matrix (bench/caption_results.md), beyond the cover: small text
# over the cellular-automaton texture (white on light grey, blocky clutter) is where most failures were;
# a near miss there; the issue's own case (Song in a translucent box over real moving footage); and
# the hardest grain cell (small Song, shadow only, heavy grain, captions back to back).
WORST: tuple[Cell, ...] = (
    Cell("uming", "plain", "automaton", "small", "bottom", "back-to-back"),
    Cell("noto-serif-cjk", "plain", "automaton", "small", "top", "short"),
    Cell("liberation-mono", "outlined", "automaton", "small", "top", "short"),
    Cell("noto-serif-cjk", "translucent", "video", "medium", "bottom", "short"),
    Cell("noto-serif-cjk", "shadowed", "noise", "small", "top", "back-to-back"),
)

# Cells that still miss a bar, with the figure measured on them: kept, and strict, so a fix shows.
# uming-plain-automaton-small-bottom-back-to-back (CER 69.7%, 2 of 3 cues lost) and
# noto-serif-cjk-plain-automaton-small-top-short (CER 15.8%, 1 of 5 lost) pass since the detector looks
# again at twice its scale when new static structure shows and nothing new is found.
KNOWN_FAILING: dict[str, str] = {
    "liberation-serif-shadowed-automaton-small-top-short": "CER 5.0% (bar 1%): 18 px serif, white on "
    "light grey under blocky texture; the lines are found, letters dropped in reading ('sen thereprt "
    "todday')",
}


def _param(cell: Cell):
    marks = [pytest.mark.slow]
    if cell.name in KNOWN_FAILING:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[cell.name]))
    return pytest.param(cell, id=cell.name, marks=marks)


CELLS = list(dict.fromkeys(caption_matrix.PAIRWISE + WORST))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return tmp_path_factory.mktemp("caption-matrix")


@pytest.mark.parametrize("cell", [_param(c) for c in CELLS])
def test_cell_meets_the_bars(run_algorithm, clips, cell: Cell) -> None:
    clip = caption_matrix.make(cell, clips)
    try:
        result = run_algorithm("CaptionExtraction", clip.path, cell.params)
    finally:
        clip.path.unlink()
    (target,) = result.outputs
    found = parse_srt(target.path.read_text(encoding="utf-8"))
    s = score(clip.truth, found)
    detail = f"{cell.name}: {s.summary()}; lost {s.lost}; spurious {s.spurious}; found {found}"
    assert not s.lost, detail
    assert not s.spurious, detail
    assert s.cer <= BARS[cell.lang], detail
    assert s.timing_ok(caption_matrix.FPS), detail


def test_pairwise_cover_covers_every_pair() -> None:
    names = list(caption_matrix.AXES)
    cells = caption_matrix.PAIRWISE
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            seen = {(getattr(c, a), getattr(c, b)) for c in cells}
            want = {(x, y) for x in caption_matrix.AXES[a] for y in caption_matrix.AXES[b]}
            assert want <= seen, (a, b, sorted(want - seen))
    assert len(cells) <= 60  # CI budget: a cover, not the product


def test_cue_scripts_span_the_lengths_and_touch_back_to_back() -> None:
    lengths = []
    for timing in caption_matrix.TIMINGS:
        for lang in ("en", "zh"):
            cues, seconds = caption_matrix.cue_script(timing, lang, 0)
            assert cues[-1][1] < seconds
            lengths += [b - a for a, b, _ in cues]
            if timing == "back-to-back":
                assert all(cues[k][1] == cues[k + 1][0] for k in range(len(cues) - 1)), cues
    assert min(lengths) <= 0.75 and max(lengths) >= 4.5, lengths
    assert min(lengths) >= 0.5 and max(lengths) <= 6.0, lengths
