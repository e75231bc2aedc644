"""Scoring an extracted SRT against the drawn truth, cell by cell (rapidfuzz edit distance).

Each output cue is assigned to the truth cue it overlaps most in time. A truth cue with no output cue
is *lost*. An output cue that overlaps no truth cue, or reads nothing like the truth cue it overlaps
(CER above 0.5), or is a second cue on a truth cue that already has one (a split), is *spurious*:
its text is not what is on screen then. CER pools the edits of every truth cue against its first
output cue (a lost cue counts all its characters wrong); start and end errors are the worst over the
found cues.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_iprod.local.algorithms._srt import Cue
from tests.mediagen.metrics_text import edit_distance, normalise


@dataclass
class Score:
    cer: float
    lost: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    start_error: float = 0.0
    end_error: float = 0.0

    def timing_ok(self, fps: int) -> bool:
        return max(self.start_error, self.end_error) <= 1.0 / fps + 1e-6

    def summary(self) -> str:
        return (
            f"CER {self.cer:.1%}, lost {len(self.lost)}, spurious {len(self.spurious)}, "
            f"start err {self.start_error:.2f} s, end err {self.end_error:.2f} s"
        )


def _overlap(a: Cue, b: Cue) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def score(truth: list[Cue], found: list[Cue]) -> Score:
    assigned: dict[int, list[Cue]] = {i: [] for i in range(len(truth))}
    out = Score(0.0)
    for cue in found:
        i = max(range(len(truth)), key=lambda k: _overlap(truth[k], cue), default=None)
        if i is None or _overlap(truth[i], cue) <= 0:
            out.spurious.append(cue.text)
            continue
        ref = normalise(truth[i].text)
        if edit_distance(ref, normalise(cue.text)) / max(1, len(ref)) > 0.5:
            out.spurious.append(cue.text)
            continue
        assigned[i].append(cue)
    edits = chars = 0
    for i, cue in enumerate(truth):
        ref = normalise(cue.text)
        chars += len(ref)
        mine = sorted(assigned[i], key=lambda c: c.start)
        if not mine:
            out.lost.append(cue.text)
            edits += len(ref)
            continue
        best = max(mine, key=lambda c: _overlap(cue, c))
        out.spurious += [c.text for c in mine if c is not best]
        edits += edit_distance(ref, normalise(best.text))
        out.start_error = max(out.start_error, abs(best.start - cue.start))
        out.end_error = max(out.end_error, abs(best.end - cue.end))
    out.cer = edits / max(1, chars)
    return out
