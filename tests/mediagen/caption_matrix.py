"""The caption test-material matrix: axes, seeded cue scripts, a pairwise cover and the full set.

A ``Cell`` fixes one value per axis (the language follows from the font). ``make(cell, dir)`` renders its
clip; ``PAIRWISE`` covers every pair of values of any two axes (CI), ``full()`` is every font x style x
background with size, place and timing rotated through (bench). The CaptionExtraction job for a cell
reads the region its place needs (``roi``) at ``FPS`` samples per second.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from tests.mediagen import caption_backgrounds
from tests.mediagen.caption_fonts import FONTS, font_file
from tests.mediagen.caption_render import PLACES, STYLES, render
from tests.mediagen.captions import CaptionClip

FPS = 5  # CaptionExtraction samples per second in the matrix jobs
SIZES = {"small": 18, "medium": 26, "large": 34}  # font size in pixels on a 640x360 clip
TIMINGS = ("long", "short", "back-to-back")
AXES: dict[str, tuple[str, ...]] = {
    "font": tuple(FONTS),
    "style": tuple(STYLES),
    "background": caption_backgrounds.KINDS,
    "size": tuple(SIZES),
    "place": tuple(PLACES),
    "timing": TIMINGS,
}

ENGLISH = (
    "Please send the report today",
    "Seven engineers measured it",
    "A small cat slept on stones",
    "We will meet at the station",
    "The river rose after the rain",
    "Turn left at the old bridge",
    "My brother plays the violin",
    "Dinner is ready at eight",
    "The museum opens on Monday",
    "She wrote three long letters",
)
CHINESE = (
    "今天天气很好我们去公园散步",
    "请在星期五之前把报告发给我",
    "七位工程师把这座桥测量了两次",
    "一只小猫在温暖的石头上睡着了",
    "我们明天早上八点在车站见面",
    "下雨以后河水涨得很快",
    "请在前面的路口向左转",
    "我的哥哥每天练习拉小提琴",
    "晚饭已经准备好了快来吃吧",
    "博物馆星期一不开门",
)


@dataclass(frozen=True)
class Cell:
    font: str
    style: str
    background: str
    size: str
    place: str
    timing: str
    seed: int = 0

    @property
    def lang(self) -> str:
        return FONTS[self.font].lang

    @property
    def name(self) -> str:
        return "-".join((self.font, self.style, self.background, self.size, self.place, self.timing))

    @property
    def params(self) -> dict:
        """The CaptionExtraction JobParams for this cell (the top place is outside the default roi)."""
        params: dict = {"fps": FPS, "lang": "en" if self.lang == "en" else "ch"}
        if self.place == "top":
            params["roi"] = [[0.0, 0.25], [0.0, 1.0]]
        return params


def cue_script(timing: str, lang: str, seed: int) -> tuple[list[tuple[float, float, str]], float]:
    """Cues ``(start, end, text)`` and the clip length: ``long`` 2 cues of 4-6 s with gaps, ``short``
    5 cues of 0.5-1.2 s with gaps, ``back-to-back`` 3 cues of 1.5-3 s with no gap between them."""
    rng = random.Random(f"{timing}-{lang}-{seed}")
    texts = rng.sample(ENGLISH if lang == "en" else CHINESE, 5)
    count, lengths, gaps = {
        "long": (2, (4.0, 6.0), (0.4, 1.0)),
        "short": (5, (0.5, 1.2), (0.3, 0.8)),
        "back-to-back": (3, (1.5, 3.0), (0.0, 0.0)),
    }[timing]
    t = _off_grid(rng.uniform(0.4, 0.8))
    cues = []
    for text in texts[:count]:
        end = _off_grid(t + rng.uniform(*lengths))
        cues.append((t, end, text))
        t = end if gaps[1] == 0 else _off_grid(end + rng.uniform(*gaps))
    return cues, round(t + 0.6, 2)


def _off_grid(t: float) -> float:
    """``t`` to 0.01 s, moved off the sampling instants ``k / FPS``: a change that falls on a sampled
    frame leaves it to a rounding which sample shows it, and the truth would be ambiguous by one."""
    t = round(t, 2)
    phase = (t * FPS) % 1.0
    if min(phase, 1.0 - phase) < 0.15:
        t = round(t + 0.06, 2)
    return t


def make(cell: Cell, directory: Path) -> CaptionClip:
    font = font_file(cell.font)
    cues, seconds = cue_script(cell.timing, cell.lang, cell.seed)
    background = caption_backgrounds.frames(cell.background, (640, 360), 25, seconds, cell.seed)
    return render(
        directory / f"{cell.name}.mp4",
        background,
        cues,
        font=font,
        face=FONTS[cell.font].face,
        style=cell.style,
        fontsize=SIZES[cell.size],
        place=cell.place,
        seconds=seconds,
    )


def pairwise(axes: dict[str, tuple[str, ...]], seed: int = 0) -> list[dict[str, str]]:
    """A small set of rows in which every pair of values of any two axes appears at least once.

    Greedy: each new row starts from an uncovered pair and fills the other axes with the value that
    covers most still-uncovered pairs (ties broken by a seeded shuffle, so the cover is stable)."""
    rng = random.Random(seed)
    names = list(axes)
    uncovered = {
        (a, va, b, vb) for a, b in itertools.combinations(names, 2) for va in axes[a] for vb in axes[b]
    }
    rows: list[dict[str, str]] = []
    while uncovered:
        a, va, b, vb = min(uncovered)
        row = {a: va, b: vb}
        for name in names:
            if name in row:
                continue
            values = list(axes[name])
            rng.shuffle(values)
            row[name] = max(values, key=lambda v, n=name: _gain(row, n, v, uncovered, names))
        rows.append(row)
        uncovered -= {
            (x, row[x], y, row[y]) for x, y in itertools.combinations(names, 2) if (x, row[x], y, row[y])
        }
    return rows


def _gain(row: dict[str, str], name: str, value: str, uncovered: set, names: list[str]) -> int:
    gain = 0
    for other, v in row.items():
        pair = (other, v, name, value) if names.index(other) < names.index(name) else (name, value, other, v)
        gain += pair in uncovered
    return gain


PAIRWISE: tuple[Cell, ...] = tuple(Cell(**row) for row in pairwise(AXES))


def full() -> list[Cell]:
    """Every font x style x background; size, place and timing rotate so each appears equally.

    In a seeded shuffled order, so that a run stopped part way is still a sample of every axis."""
    cells = []
    for i, (font, style, background) in enumerate(
        itertools.product(AXES["font"], AXES["style"], AXES["background"])
    ):
        size, place, timing = tuple(SIZES)[i % 3], PLACES_ORDER[(i // 3) % 3], TIMINGS[(i // 9) % 3]
        cells.append(Cell(font, style, background, size, place, timing))
    random.Random(0).shuffle(cells)
    return cells


PLACES_ORDER = tuple(PLACES)
