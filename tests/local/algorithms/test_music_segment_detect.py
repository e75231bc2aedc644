"""MusicSegmentDetect on generated songs whose chorus spans are known, and on music that never repeats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.music import through_composed_song, verse_chorus_song


def span_iou(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> float:
    """Overlap of the union of found spans with the union of true spans, on a 10 ms grid."""
    grid = np.arange(0, 300, 0.01)

    def cover(spans: list[tuple[float, float]]) -> np.ndarray:
        mask = np.zeros(grid.size, bool)
        for a, b in spans:
            mask |= (grid >= a) & (grid < b)
        return mask

    f, t = cover(found), cover(truth)
    return float((f & t).sum() / max(1, (f | t).sum()))


@pytest.mark.slow
@pytest.mark.parametrize(("bpm", "seed"), [(92, 4), (120, 1), (138, 2)])
def test_choruses_found(run_algorithm, tmp_path: Path, bpm: int, seed: int) -> None:
    song = verse_chorus_song(bpm, seed=seed)
    out = run_algorithm("MusicSegmentDetect", song.write(tmp_path / "song.wav"))

    spans = [(s["start"], s["end"]) for s in out.result]
    iou = span_iou(spans, song.choruses)
    truth = [(round(a, 2), round(b, 2)) for a, b in song.choruses]
    print(f"{bpm} BPM: found {spans}, truth {truth}, IoU {iou:.3f}")
    assert iou >= 0.7
    assert len(out.result) == len(song.choruses)
    assert {s["title"] for s in out.result} == {"副歌"}
    (target,) = out.outputs
    assert json.loads(target.path.read_text(encoding="utf-8")) == out.result


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_no_repeat_no_chorus(run_algorithm, tmp_path: Path, seed: int) -> None:
    song = through_composed_song(bpm=110 + 10 * seed, seed=seed)
    out = run_algorithm("MusicSegmentDetect", song.write(tmp_path / "song.wav"))
    assert out.result == []
    assert json.loads(out.outputs[0].path.read_text()) == []


def test_too_short_is_refused(run_algorithm, tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "blip.wav", np.zeros(22050, np.float32), 22050)
    with pytest.raises(AlgorithmError, match="at least 5 s"):
        run_algorithm("MusicSegmentDetect", tmp_path / "blip.wav")
