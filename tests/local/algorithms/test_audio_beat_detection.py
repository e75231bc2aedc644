"""AudioBeatDetection on the music test-material matrix (``tests/mediagen/music_matrix.py``).

CI runs a pairwise cover of tempo x meter x drum kit x pitched set plus the worst known cell of each
axis, and asserts beat F1 >= 0.95 (mir_eval, +-70 ms) cell by cell; ``bench/`` runs the full matrix.
Cells that still fail are strict xfails carrying their measured figure.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen import music_matrix
from tests.mediagen.music import beat_song
from tests.mediagen.music_matrix import BeatCell

TOLERANCE = 0.07  # seconds, either side
BAR = 0.95

# The worst cell of each value of each axis in the last full-matrix run (300 cells,
# bench/bench_audio_beat_detection.py); the comment says which values it is the worst of.
WORST = [
    BeatCell(150, "6/8", "synth", "additive"),  # 150 BPM, 6/8, synth drums, additive: the worst overall
    BeatCell(90, "swing", "electro", "pluck"),  # 90 BPM, swing, electro, pluck
    BeatCell(120, "6/8", "synth", "additive"),  # 120 BPM
    BeatCell(180, "3/4", "synth", "additive"),  # 180 BPM (passes)
    BeatCell(60, "6/8", "synth", "pluck"),  # 60 BPM
    BeatCell(60, "4/4", "synth", "pluck"),  # 4/4
    BeatCell(90, "3/4", "synth", "fm"),  # 3/4
    BeatCell(60, "6/8", "gm", "pluck"),  # GM drums
    BeatCell(60, "6/8", "synth", "fm"),  # FM
    BeatCell(150, "6/8", "gm", "gm-piano"),  # GM piano set (passes)
    BeatCell(90, "6/8", "gm", "gm-strings"),  # GM strings set
]
# Cells below the bar on the last full run, with their figure: strict xfails, so a fix shows up as a
# failure until the cell leaves this table. The cause is the metrical level: the tracker counts the
# eighths (F1 0.667 in 4/4 and 3/4, 0.5 in 6/8) where pitched notes on every eighth (plucked or FM
# attacks, 6/8 broken chords) are accented as much as the drummed beats, or the dotted level (0.4).
KNOWN_FAILURES = {
    "150bpm-68-synth-additive": "beat F1 0.182",
    "90bpm-swing-electro-pluck": "beat F1 0.364",
    "120bpm-68-synth-additive": "beat F1 0.400",
    "60bpm-68-synth-pluck": "beat F1 0.500 (counts eighths)",
    "60bpm-44-synth-pluck": "beat F1 0.667 (counts eighths)",
    "90bpm-34-synth-fm": "beat F1 0.630",
    "60bpm-68-gm-pluck": "beat F1 0.500 (counts eighths)",
    "60bpm-68-synth-fm": "beat F1 0.500 (counts eighths)",
    "90bpm-68-gm-gm-strings": "beat F1 0.927",
    "60bpm-68-gm-fm": "beat F1 0.500 (counts eighths)",
    "90bpm-swing-gm-additive": "beat F1 0.878 (right tempo, some beats on swung off-beats)",
}


def _cells() -> list:
    cells = music_matrix.beat_cells("pairwise")
    cells += [c for c in WORST if c not in cells]
    out = []
    for c in cells:
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[c.name])]
            if c.name in KNOWN_FAILURES
            else []
        )
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def _scores(result: dict, song) -> tuple[float, float]:
    return (
        mir_eval.beat.f_measure(song.beats, np.array(result["BeatList"]), TOLERANCE),
        mir_eval.beat.f_measure(song.downbeats, np.array(result["DownBeatList"]), TOLERANCE),
    )


@pytest.mark.slow
@pytest.mark.parametrize("cell", _cells())
def test_matrix_cell_meets_the_beat_bar(run_algorithm, tmp_path: Path, cell: BeatCell) -> None:
    song = cell.song()
    out = run_algorithm("AudioBeatDetection", song.write(tmp_path / "song.wav"))
    beat_f, down_f = _scores(out.result, song)
    print(f"{cell.name}: beat F1 {beat_f:.3f}, downbeat F1 {down_f:.3f}")
    assert beat_f >= BAR, f"{cell.name}: beat F1 {beat_f:.3f} < {BAR}"


@pytest.mark.slow
@pytest.mark.parametrize(("bpm", "meter"), [(118, 4), (105, 3)])
def test_downbeats_and_output_file(run_algorithm, tmp_path: Path, bpm: int, meter: int) -> None:
    song = beat_song(bpm, seconds=16, beats_per_bar=meter, seed=bpm, jitter=0.01)
    out = run_algorithm("AudioBeatDetection", song.write(tmp_path / "song.wav"))

    beat_f, down_f = _scores(out.result, song)
    assert beat_f >= BAR
    assert down_f >= 0.85
    # the JSON file holds the same lists as the Result, in milliseconds precision
    (target,) = out.outputs
    assert target.path.suffix == ".json"
    assert json.loads(target.path.read_text()) == out.result
    assert all(round(t, 3) == t for t in out.result["BeatList"])


@pytest.mark.slow
def test_compressed_stereo_at_another_rate(run_algorithm, tmp_path: Path) -> None:
    import imageio_ffmpeg

    song = beat_song(128, seconds=16, seed=3)
    wav = song.write(tmp_path / "song.wav")
    mp3 = tmp_path / "song"  # no extension: the content decides
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-ac", "2", "-ar", "44100"]
    subprocess.run([*cmd, "-f", "mp3", str(mp3)], check=True)
    beat_f, down_f = _scores(run_algorithm("AudioBeatDetection", mp3).result, song)
    assert beat_f >= BAR
    assert down_f >= 0.85


def test_pairwise_cover_holds_every_pair() -> None:
    cells = music_matrix.pairwise(music_matrix.BEAT_AXES)
    axes = list(music_matrix.BEAT_AXES)
    for i, a in enumerate(axes):
        for b in axes[i + 1 :]:
            seen = {(c[a], c[b]) for c in cells}
            assert len(seen) == len(music_matrix.BEAT_AXES[a]) * len(music_matrix.BEAT_AXES[b])


def test_silence_has_no_beats(run_algorithm, tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(tmp_path / "quiet.wav", np.zeros(22050 * 4, np.float32), 22050)
    out = run_algorithm("AudioBeatDetection", tmp_path / "quiet.wav")
    assert out.result == {"BeatList": [], "DownBeatList": []}


def test_not_audio_is_refused(run_algorithm, tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    with pytest.raises(AlgorithmError, match="Input"):
        run_algorithm("AudioBeatDetection", bad)
