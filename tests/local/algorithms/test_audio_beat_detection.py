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

# Cells beside the pairwise cover. The first eleven were the worst cell of each value of each axis
# before the metrical-level fix (most counted eighths or a dotted level); they stay as its regression
# guard. The rest are the worst cells of the last full run (300 cells,
# bench/bench_audio_beat_detection.py, 2 below the bar, worst 0.667) not already covered.
WORST = [
    BeatCell(150, "6/8", "synth", "additive"),  # was the worst overall (0.182)
    BeatCell(90, "swing", "electro", "pluck"),  # 90 BPM, swing, electro, pluck
    BeatCell(120, "6/8", "synth", "additive"),  # 120 BPM
    BeatCell(180, "3/4", "synth", "additive"),  # 180 BPM
    BeatCell(60, "6/8", "synth", "pluck"),  # 60 BPM
    BeatCell(60, "4/4", "synth", "pluck"),  # 4/4
    BeatCell(90, "3/4", "synth", "fm"),  # 3/4
    BeatCell(60, "6/8", "gm", "pluck"),  # GM drums
    BeatCell(60, "6/8", "synth", "fm"),  # FM
    BeatCell(150, "6/8", "gm", "gm-piano"),  # GM piano set
    BeatCell(90, "6/8", "gm", "gm-strings"),  # GM strings set
    BeatCell(120, "6/8", "electro", "pluck"),  # now the worst: 120 BPM, 6/8, electro, pluck
    BeatCell(120, "swing", "gm", "additive"),  # swing, GM drums, additive
    BeatCell(150, "swing", "gm", "fm"),  # 150 BPM, FM (0.954)
    BeatCell(60, "6/8", "synth", "additive"),  # 60 BPM, synth drums (0.960)
]
# Cells below the bar on the last full run, with their figure: strict xfails, so a fix shows up as a
# failure until the cell leaves this table. Both are counted at the bar level (half the beat): the
# beats score as accented as the bar's, and the kick/bass band gives no 2-to-1 grouping to climb by.
KNOWN_FAILURES = {
    "120bpm-68-electro-pluck": "beat F1 0.667 (counts whole bars, 60 BPM)",
    "120bpm-swing-gm-additive": "beat F1 0.667 (counts half notes, 60 BPM)",
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
