"""Caption readings grouped into cues: rows stacked into blocks, blocks followed from sample to sample."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from airflow_iprod.local.algorithms._captions import MIN_LINE_SCORE, SAME_TEXT, Line, Reading, similarity


@dataclass
class Track:
    """A run of samples showing one caption block (one or more adjacent rows)."""

    start: float
    last: float
    y0: int
    y1: int
    x0: int
    x1: int
    votes: dict[str, float] = field(default_factory=dict)  # reading -> summed confidence over samples
    scores: list[float] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return max(self.votes.items(), key=lambda kv: kv[1])[0]

    @property
    def confidence(self) -> float:
        return float(np.mean(self.scores)) if self.scores else 0.0

    def add(self, t: float, text: str, score: float, box: tuple[int, int, int, int]) -> None:
        self.last = t
        self.votes[text] = self.votes.get(text, 0.0) + score
        self.scores.append(score)
        self.samples.append(t)
        self.x0, self.y0 = min(self.x0, box[0]), min(self.y0, box[1])
        self.x1, self.y1 = max(self.x1, box[2]), max(self.y1, box[3])


def blocks(lines: list[Line]) -> list[tuple[str, float, tuple[int, int, int, int]]]:
    """Group rows that stack closely (a two-line caption) into one block: text joined by newline."""
    groups: list[list[Line]] = []
    readable = [ln for ln in lines if ln.text and ln.score >= MIN_LINE_SCORE]
    for line in sorted(readable, key=lambda ln: ln.box[1]):
        if groups:
            last = groups[-1][-1]
            if similarity(line.text, last.text) >= SAME_TEXT and min(line.box[3], last.box[3]) > max(
                line.box[1], last.box[1]
            ):
                # The same row found twice: overlapping boxes, or a row the detector cut in two whose
                # pieces were each widened to the whole row when read. Keep the surer reading.
                if line.score > last.score:
                    groups[-1][-1] = line
                continue
            gap = line.box[1] - last.box[3]
            overlap_x = min(line.box[2], last.box[2]) - max(line.box[0], last.box[0])
            if gap < 0.25 * max(line.height, last.height) and overlap_x > 0:
                groups[-1].append(line)
                continue
        groups.append([line])
    out = []
    for group in groups:
        box = (
            min(ln.box[0] for ln in group),
            min(ln.box[1] for ln in group),
            max(ln.box[2] for ln in group),
            max(ln.box[3] for ln in group),
        )
        out.append(("\n".join(ln.text for ln in group), min(ln.score for ln in group), box))
    return out


def build_tracks(readings: list[Reading], step: float) -> list[Track]:
    """Consecutive samples whose block text is the same (fuzzily) and in the same place make a track."""
    open_tracks: list[Track] = []
    done: list[Track] = []
    previous_t = None
    for reading in readings:
        still_open: list[Track] = []
        found = blocks(reading.lines)
        for text, score, box in found:
            match = None
            for track in open_tracks:
                vertical = min(box[3], track.y1) - max(box[1], track.y0)
                if vertical > 0 and similarity(text, track.text) >= SAME_TEXT:
                    match = track
                    break
            if match is None:
                match = Track(reading.t, reading.t, box[1], box[3], box[0], box[2])
            else:
                open_tracks.remove(match)
            match.add(reading.t, text, score, box)
            still_open.append(match)
        for track in open_tracks:
            # Not seen in this sample. Seen in the one before and nothing else in its place now: one
            # missed sample (grain or texture hid the strokes) does not end it; a second one does.
            taken = any(min(box[3], track.y1) > max(box[1], track.y0) for _, _, box in found)
            if track.last == previous_t and not taken:
                still_open.append(track)
            else:
                done.append(track)
        open_tracks = still_open
        previous_t = reading.t
    done.extend(open_tracks)
    # A reading seen once with middling confidence is a flicker of background texture, not a caption;
    # so is one with fewer than two letters or characters (texture read as "■", "à" or "中").
    kept = [t for t in done if (len(t.samples) > 1 or t.confidence >= 0.9) and _wordy(t.text)]
    return sorted(kept, key=lambda tr: (tr.start, tr.y0))


def _wordy(text: str) -> bool:
    return sum(ch.isalnum() for ch in text) >= 2


def main_track(tracks: list[Track]) -> list[Track]:
    """Keep the dominant caption track: the vertical band where caption area x time is largest."""
    if not tracks:
        return []

    def weight(tr: Track) -> float:
        return (tr.x1 - tr.x0) * (tr.y1 - tr.y0) * len(tr.samples)

    best, best_weight = tracks[0], -1.0
    for candidate in tracks:
        total = sum(weight(tr) for tr in tracks if _same_band(candidate, tr))
        if total > best_weight:
            best, best_weight = candidate, total
    return [tr for tr in tracks if _same_band(best, tr)]


def _same_band(a: Track, b: Track) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)
