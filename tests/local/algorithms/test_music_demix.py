"""MusicDemix on generated stereo songs whose vocal and accompaniment stems are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.mediagen.metrics import snr
from tests.mediagen.music import stereo_song
from tests.mediagen.speech import speech_clip


def _separate(run_algorithm, tmp_path: Path, song) -> dict[str, np.ndarray]:
    out = run_algorithm("MusicDemix", song.write(tmp_path / "song.wav"))
    assert [t.result_type for t in out.outputs] == ["vocals", "accompaniment"]
    assert out.result == {}
    stems = {}
    for target in out.outputs:
        audio, rate = sf.read(target.path, dtype="float32", always_2d=True)
        assert target.path.suffix == ".wav" and rate == song.sr
        stems[target.result_type] = audio.T
    return stems


@pytest.mark.slow
@pytest.mark.parametrize("voice", ["sung", "espeak"])
def test_vocals_improve_over_the_mix(run_algorithm, tmp_path: Path, voice: str) -> None:
    sr = 22050
    vocal = speech_clip(10, rate=sr) if voice == "espeak" else None
    song = stereo_song(seconds=10, sr=sr, seed=5, vocal=vocal)
    stems = _separate(run_algorithm, tmp_path, song)

    truth_v, truth_a = song.stems["vocals"], song.stems["accompaniment"]
    vocal_gain = snr(truth_v, stems["vocals"]) - snr(truth_v, song.audio)
    accomp_gain = snr(truth_a, stems["accompaniment"]) - snr(truth_a, song.audio)
    print(f"{voice}: vocal SDR improvement {vocal_gain:.2f} dB, accompaniment {accomp_gain:.2f} dB")
    assert vocal_gain >= 3.0
    assert accomp_gain > 0.0  # equals the vocal SDR itself: the accompaniment is the mix minus the vocals
    # the two outputs add back up to the input (up to 16-bit rounding)
    assert np.max(np.abs(stems["vocals"] + stems["accompaniment"] - song.audio)) < 1e-3


@pytest.mark.slow
def test_mono_input_still_splits(run_algorithm, tmp_path: Path) -> None:
    song = stereo_song(seconds=8, seed=2)
    song.audio = song.audio.mean(axis=0, keepdims=True)
    stems = _separate(run_algorithm, tmp_path, song)
    assert stems["vocals"].shape == stems["accompaniment"].shape == song.audio.shape
    # without the centre cue the voice estimate is weaker, but it must still lean towards the voice
    truth_v = song.stems["vocals"].mean(axis=0)
    assert snr(truth_v, stems["vocals"][0]) > snr(truth_v, song.audio[0])
