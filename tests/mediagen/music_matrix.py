"""The music test-material matrix: its axes, its cells, and a pairwise cover of them for CI.

Beat cells vary tempo x meter x drum kit x pitched set; song cells vary form x meter x tempo x timbre
(a drum kit and a pitched set together). ``bench/`` runs every cell; CI runs ``pairwise(...)`` plus the
worst known cells. A cell's seed comes from its values, so one cell is always the same audio.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

from tests.mediagen import music_render, music_score
from tests.mediagen.music import Song

TEMPOS = (60, 90, 120, 150, 180)
METERS = tuple(music_score.METERS)  # 4/4, 3/4, 6/8, swing
DRUMS = ("synth", "electro", "gm")
PITCHED = ("additive", "pluck", "fm", "gm-piano", "gm-strings")
FORMS = tuple(music_score.FORMS)  # verse-chorus, bridge, aaba, no-repeat
SONG_TEMPOS = (70, 110, 160)
TIMBRES = (
    ("synth", "additive"),
    ("gm", "gm-piano"),
    ("electro", "pluck"),
    ("gm", "gm-strings"),
    ("synth", "fm"),
)

BEAT_AXES = {"tempo": TEMPOS, "meter": METERS, "drums": DRUMS, "pitched": PITCHED}
SONG_AXES = {"form": FORMS, "meter": METERS, "tempo": SONG_TEMPOS, "timbre": TIMBRES}


@dataclass(frozen=True)
class BeatCell:
    tempo: int
    meter: str
    drums: str
    pitched: str

    @property
    def name(self) -> str:
        return f"{self.tempo}bpm-{self.meter.replace('/', '')}-{self.drums}-{self.pitched}"

    def song(self, seconds: float = 14.0) -> Song:
        seed = zlib.crc32(self.name.encode()) % 10_000
        score = music_score.groove(self.tempo, self.meter, seconds=seconds, seed=seed)
        return music_render.render(score, self.drums, self.pitched, seed=seed)


@dataclass(frozen=True)
class SongCell:
    form: str
    meter: str
    tempo: int
    timbre: tuple[str, str]

    @property
    def name(self) -> str:
        return f"{self.form}-{self.meter.replace('/', '')}-{self.tempo}bpm-{'+'.join(self.timbre)}"

    def song(self) -> Song:
        seed = zlib.crc32(self.name.encode()) % 10_000
        score = music_score.song(self.tempo, self.meter, self.form, seed=seed)
        return music_render.render(score, *self.timbre, seed=seed)


def full(axes: dict[str, tuple]) -> list[dict[str, object]]:
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def pairwise(axes: dict[str, tuple]) -> list[dict[str, object]]:
    """Few cells in which every pair of values of every two axes appears (greedy, deterministic)."""
    names = list(axes)
    uncovered = {
        (a, va, b, vb) for a, b in itertools.combinations(names, 2) for va in axes[a] for vb in axes[b]
    }
    cells: list[dict[str, object]] = []
    candidates = full(axes)
    pairs = list(itertools.combinations(names, 2))
    while uncovered:
        # the candidate covering most uncovered pairs; the first such: deterministic
        best = max(candidates, key=lambda c: sum((a, c[a], b, c[b]) in uncovered for a, b in pairs))
        cells.append(best)
        uncovered -= {(a, best[a], b, best[b]) for a, b in pairs}
    return cells


def beat_cells(cover: str = "full") -> list[BeatCell]:
    rows = full(BEAT_AXES) if cover == "full" else pairwise(BEAT_AXES)
    return [BeatCell(**r) for r in rows]  # type: ignore[arg-type]


def song_cells(cover: str = "full") -> list[SongCell]:
    rows = full(SONG_AXES) if cover == "full" else pairwise(SONG_AXES)
    return [SongCell(**r) for r in rows]  # type: ignore[arg-type]
