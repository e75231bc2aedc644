"""TextToSpeech / AsyncTextToSpeech: length follows the words and the rate, audible, recognisable, formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from airflow_iprod import catalog
from airflow_iprod.local.algorithms import asr, text_to_speech
from airflow_iprod.local.algorithms._audio_decode import load_mono
from airflow_iprod.local.algorithms.base import AlgorithmError
from tests.mediagen.wer import wer

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
NO_INPUT = Path("/nonexistent/none")  # the engine's stand-in when a TTS job has no Input


def _speak(run_algorithm, params: dict, name: str = "TextToSpeech"):
    result = run_algorithm(name, NO_INPUT, params, api="mts")
    audio, rate = sf.read(str(result.outputs[0].path), dtype="float32")
    return result, audio, rate


def test_wav_result_and_recognisable_speech(run_algorithm) -> None:
    result, audio, rate = _speak(run_algorithm, {"text": SENTENCE})
    assert result.outputs[0].path.suffix == ".wav"
    assert audio.ndim == 1 and rate == 22050
    assert result.result == {
        "Duration": pytest.approx(len(audio) / rate, abs=0.002),
        "Voice": "en-us",
        "SampleRate": 22050,
    }
    assert 2.0 < result.result["Duration"] < 6.0  # 12 words at ~175 words per minute
    assert np.sqrt(np.mean(audio**2)) > 0.02  # not silent
    assert np.max(np.abs(audio)) == pytest.approx(0.5 * 10 ** (-1 / 20), rel=0.01)  # volume 50
    import soxr

    heard = " ".join(" ".join(w.text for w in s) for s in asr.transcribe(soxr.resample(audio, rate, 16000)))
    assert wer(SENTENCE, heard) <= 0.4, heard  # measured 0.15-0.38: PocketSphinx sometimes adds a tail


def test_duration_follows_words_and_rate(run_algorithm) -> None:
    one = _speak(run_algorithm, {"text": SENTENCE})[0].result["Duration"]
    two = _speak(run_algorithm, {"text": f"{SENTENCE} {SENTENCE}"})[0].result["Duration"]
    fast = _speak(run_algorithm, {"text": SENTENCE, "speech_rate": 2.0})[0].result["Duration"]
    slow = _speak(run_algorithm, {"text": SENTENCE, "speech_rate": 0.5})[0].result["Duration"]
    assert two / one == pytest.approx(2.0, rel=0.25)
    assert fast / one == pytest.approx(0.5, rel=0.25)
    assert slow / one == pytest.approx(2.0, rel=0.25)


def test_volume_scales_linearly_and_zero_is_silent(run_algorithm) -> None:
    loud = _speak(run_algorithm, {"text": "Hello there.", "volume": 100})[1]
    quiet = _speak(run_algorithm, {"text": "Hello there.", "volume": 25})[1]
    mute = _speak(run_algorithm, {"text": "Hello there.", "volume": 0})[1]
    assert np.max(np.abs(loud)) == pytest.approx(10 ** (-1 / 20), rel=0.01)
    assert np.max(np.abs(quiet)) / np.max(np.abs(loud)) == pytest.approx(0.25, rel=0.02)
    assert not np.any(mute)


def test_mp3_output(run_algorithm) -> None:
    result = run_algorithm("AsyncTextToSpeech", NO_INPUT, {"text": SENTENCE, "format": "mp3"}, api="mts")
    path = result.outputs[0].path
    assert path.suffix == ".mp3" and path.read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    decoded = load_mono(path, 22050)
    assert len(decoded) / 22050 == pytest.approx(result.result["Duration"], abs=0.1)
    assert np.sqrt(np.mean(decoded**2)) > 0.02


def test_other_voices(run_algorithm) -> None:
    result, audio, _ = _speak(run_algorithm, {"text": "Bonjour tout le monde.", "voice": "fr-fr+f3"})
    assert result.result["Voice"] == "fr-fr+f3" and len(audio) > 0.5 * 22050


def test_unknown_voice_and_blank_text_are_refused(run_algorithm) -> None:
    # The catalog checks the documented rules (text required and speakable, lengths, ranges, formats);
    # the voice list comes from the installed espeak-ng data.
    with pytest.raises(AlgorithmError, match=r"JobParams\.voice: 'robot'.*en-us.*fr-fr"):
        _speak(run_algorithm, {"text": "hi", "voice": "robot"})
    with pytest.raises(AlgorithmError, match=r"JobParams\.voice: variant 'zz'.*f3"):
        _speak(run_algorithm, {"text": "hi", "voice": "en-us+zz"})
    with pytest.raises(catalog.ValidationError, match=r"JobParams\.text=.*something to speak"):
        _speak(run_algorithm, {"text": "  \n"})


def test_voice_list() -> None:
    voices = text_to_speech.voice_names()
    assert len(voices) > 100 and {"en-us", "en-gb", "fr-fr", "de", "cmn"} <= set(voices)
    assert "fo" not in voices  # its dictionary is missing from the wheel: refused, not spoken wrongly
