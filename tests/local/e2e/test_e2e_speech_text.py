"""Speech and text algorithms (MPS only) end to end through the MPS SDK: ASR on espeak speech whose
words are known (WER), Chinese ASR on espeak Mandarin (simplified characters), TextToSpeech and
AsyncTextToSpeech (length against the text and the rate)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from airflow_iprod.local.algorithms import is_available
from tests.local.e2e.conftest import needs
from tests.mediagen.speech import SENTENCES, speak
from tests.mediagen.wer import wer

pytestmark = pytest.mark.slow

OUT = "oss://media/e2e/speech"
TTS_TEXT = "Please send the quarterly report to the finance team before Friday. Thank you very much."
ASR_SENTENCES = SENTENCES[6:9]


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-speech")
    out: dict[str, Any] = {}
    if is_available("ASR"):
        gap = np.zeros(8000, np.float32)
        parts = [gap]
        for sentence in ASR_SENTENCES:
            parts += [speak(sentence, rate=16000), gap]
        sf.write(tmp / "dictation.wav", np.concatenate(parts), 16000)
        url = upload(tmp / "dictation.wav", "e2e/speech/in/dictation.wav")
        out["asr"] = jobs.submit(
            "mts", "ASR", url, f"{OUT}/asr/{{source}}-{{timestamp}}.{{resultType}}", {"lang": "en"}
        )
    for name, rate in (("TextToSpeech", 1.0), ("AsyncTextToSpeech", 1.5)):
        if is_available(name):
            out[name] = jobs.submit(
                "mts", name, None, f"{OUT}/{name}/voice-{{timestamp}}.wav",
                {"text": TTS_TEXT, "voice": "en-us", "speech_rate": rate},
            )  # fmt: skip
    return out


@needs("ASR")
def test_asr_word_error_rate(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    from airflow_iprod.local.algorithms._srt import parse_srt

    job = submitted["asr"]
    jobs.wait(job)
    result = job.result
    assert set(result) == {"Text", "Sentences"}
    assert all(set(s) == {"start", "end", "text"} for s in result["Sentences"])
    urls = jobs.outputs(job)
    assert sorted(u.rsplit(".", 1)[-1] for u in urls) == ["json", "srt"]  # {resultType}: both formats
    files = {u.rsplit(".", 1)[-1]: jobs.download(u, tmp_path / Path(u).name) for u in urls}
    assert json.loads(files["json"].read_text(encoding="utf-8")) == result
    cues = parse_srt(files["srt"].read_text(encoding="utf-8"))
    assert " ".join(c.text for c in cues) == result["Text"]
    starts = [s["start"] for s in result["Sentences"]]
    assert starts == sorted(starts) and result["Sentences"][-1]["end"] <= 0.5 + sum(
        len(speak(s)) / 16000 + 0.5 for s in ASR_SENTENCES
    )
    score = wer(" ".join(ASR_SENTENCES), result["Text"])
    print(f"E2E ASR (mts): WER {100 * score:.1f}% on {len(' '.join(ASR_SENTENCES).split())} words")
    assert score <= 0.25  # Whisper base on espeak speech (PocketSphinx measured ~33% here)


@needs("ASR")
def test_asr_chinese(jobs: Any, upload: Any) -> None:
    """lang=zh (the cloud's default) runs locally: Mandarin in, simplified characters out."""
    from airflow_iprod.local.algorithms._whisper import to_simplified
    from tests.mediagen import mandarin

    pad = np.zeros(8000, np.float32)
    buf = io.BytesIO()
    # the +f3 voice: Whisper base reads espeak's default Mandarin voice poorly (CER 0.57, and the count of
    # characters it finds varied between runs: 5 once), +f3 at CER 0.20
    speech = [mandarin.speak(0, variant="f3"), pad, mandarin.speak(1, variant="f3")]
    sf.write(buf, np.concatenate([pad, *speech, pad]), 16000, format="WAV")
    url = upload(buf.getvalue(), "e2e/speech/in/mandarin.wav")
    job = jobs.submit("mts", "ASR", url, f"{OUT}/asr-zh/{{source}}.srt", {"lang": "zh"})
    jobs.wait(job)
    text = job.result["Text"]
    print(f"E2E ASR (mts, zh): {text}")
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 10 and to_simplified(text) == text


def _tts(jobs: Any, job: Any, tmp_path: Path) -> tuple[np.ndarray, int, dict]:
    jobs.wait(job)
    result = job.result
    assert set(result) == {"Duration", "Voice", "SampleRate"} and result["Voice"] == "en-us"
    audio, rate = sf.read(jobs.only_output(job, tmp_path), dtype="float32")
    assert rate == result["SampleRate"]
    assert len(audio) / rate == pytest.approx(result["Duration"], abs=0.01)
    return audio, rate, result


@needs("TextToSpeech")
def test_text_to_speech_length_for_the_text(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    audio, _, result = _tts(jobs, submitted["TextToSpeech"], tmp_path)
    words = len(TTS_TEXT.split())
    wpm = words / (result["Duration"] / 60)
    voiced = float(np.mean(np.abs(audio) > 0.01))
    print(f"E2E TextToSpeech (mts): {result['Duration']:.2f} s for {words} words ({wpm:.0f} wpm), "
          f"{100 * voiced:.0f}% of samples voiced")  # fmt: skip
    assert 120 <= wpm <= 230  # a natural speaking pace around espeak's 175 wpm
    assert voiced > 0.3


@needs("AsyncTextToSpeech")
def test_async_text_to_speech_rate(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    _, _, fast = _tts(jobs, submitted["AsyncTextToSpeech"], tmp_path / "fast")
    if not is_available("TextToSpeech"):
        pytest.skip("needs TextToSpeech for the 1.0x reference")
    _, _, normal = _tts(jobs, submitted["TextToSpeech"], tmp_path / "normal")
    ratio = normal["Duration"] / fast["Duration"]
    print(f"E2E AsyncTextToSpeech (mts): speech_rate 1.5 is {ratio:.2f}x shorter than 1.0")
    assert 1.3 <= ratio <= 1.7


def test_tts_unknown_voice_refused_at_submit(jobs: Any) -> None:
    """A voice the local espeak-ng data lacks is refused at Submit, naming the field and the choices."""
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as err:
        jobs.submit(
            "mts",
            "TextToSpeech",
            None,
            f"{OUT}/tts-bad/{{timestamp}}.wav",
            {"text": "hi", "voice": "xx-nope"},
        )
    assert err.value.code == "InvalidParameter"
    assert "voice" in err.value.message and "xx-nope" in err.value.message and "en-us" in err.value.message
