"""AudioBeatDetection on generated music whose beats and bar lines are known."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.music import beat_song

TOLERANCE = 0.07  # seconds, either side


def _scores(result: dict, song) -> tuple[float, float]:
    beats = np.array(result["BeatList"])
    downbeats = np.array(result["DownBeatList"])
    return (
        mir_eval.beat.f_measure(song.beats, beats, TOLERANCE),
        mir_eval.beat.f_measure(song.downbeats, downbeats, TOLERANCE),
    )


@pytest.mark.slow
@pytest.mark.parametrize(("bpm", "meter"), [(80, 4), (97, 4), (118, 4), (139, 4), (160, 4), (105, 3)])
def test_beats_and_downbeats_match_the_score(run_algorithm, tmp_path: Path, bpm: int, meter: int) -> None:
    song = beat_song(bpm, seconds=16, beats_per_bar=meter, seed=bpm, jitter=0.01)
    out = run_algorithm("AudioBeatDetection", song.write(tmp_path / "song.wav"))

    beat_f, down_f = _scores(out.result, song)
    print(f"{bpm} BPM {meter}/4: beat F1 {beat_f:.3f}, downbeat F1 {down_f:.3f}")
    assert beat_f >= 0.95
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
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(wav),
            "-ac",
            "2",
            "-ar",
            "44100",
            "-f",
            "mp3",
            str(mp3),
        ],
        check=True,
    )
    beat_f, down_f = _scores(run_algorithm("AudioBeatDetection", mp3).result, song)
    assert beat_f >= 0.95
    assert down_f >= 0.85


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
