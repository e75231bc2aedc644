"""ASR (Whisper base from the pinned wheels) on espeak-ng speech of known sentences: English word
error rate clean, in white noise and in other voices, Mandarin character error rate, timing, formats,
the model's provenance check.

The bars are what the recogniser measures here plus a margin (figures in the README and from
bench/bench_asr.py). espeak's Mandarin is a formant voice that Whisper base barely understands
(CER 0.57 on three pinyin sentences, where English reaches WER 0.00-0.12): the Chinese bar is that
figure plus a margin, not a target, and the README says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from airflow_iprod import catalog
from airflow_iprod.local.algorithms import _whisper, asr
from airflow_iprod.local.algorithms._srt import parse_srt
from airflow_iprod.local.algorithms.base import AlgorithmError, JobContext, OutputTarget
from tests.mediagen import mandarin, noise, speech, speech_matrix
from tests.mediagen.metrics_text import cer
from tests.mediagen.wer import wer

RATE = 16000
LEAD, GAP = 0.5, 0.6  # s of silence before the first sentence and between sentences
SENTENCES = speech.SENTENCES[:4]
CLEAN_WER_MAX = 0.20  # measured 0.122 (PocketSphinx: 0.45)
NOISY_WER_MAX = 0.30  # white noise at 20 dB SNR; measured 0.184 (PocketSphinx: 0.69)
VOICE_WER_MAX = 0.20  # other English voices; measured 0.111 (en-us+f3) and 0.0 (en-gb+m3)
ZH_CER_MAX = 0.70  # espeak Mandarin from pinyin, sentences 0-2; measured 0.571 (default voice), 0.200 (+f3)


def cer_zh(reference: str, hypothesis: str) -> float:
    """Character error rate over Chinese characters and letters/digits: punctuation is left out (the
    reference's full stops and commas are not what is being recognised)."""
    keep = lambda text: "".join(ch for ch in text if ch.isalnum())  # noqa: E731
    return cer(keep(reference), keep(hypothesis))


def _clip() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The sentences with pauses, and where each one really is (seconds)."""
    parts = [np.zeros(round(LEAD * RATE), np.float32)]
    spans, t = [], LEAD
    for text in SENTENCES:
        audio = speech.speak(text, rate=RATE)
        voiced = np.flatnonzero(np.abs(audio) > 0.01)
        spans.append((t + voiced[0] / RATE, t + voiced[-1] / RATE))
        parts += [audio, np.zeros(round(GAP * RATE), np.float32)]
        t += (len(audio) + round(GAP * RATE)) / RATE
    return np.concatenate(parts), spans


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, list[tuple[float, float]]]:
    return _clip()


def _write(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return path


@pytest.mark.slow
def test_clean_speech_wer_timing_and_both_formats(run_algorithm, clip, tmp_path: Path) -> None:
    audio, spans = clip
    # 44.1 kHz stereo in: the algorithm must mix down and resample itself
    import soxr

    stereo = np.stack([soxr.resample(audio, RATE, 44100)] * 2, axis=1) * 0.8
    path = _write(tmp_path / "speech.wav", stereo, 44100)
    result = run_algorithm("ASR", path, {"lang": "en", "format": "srt"}, api="mts")

    text = result.result["Text"]
    error = wer(" ".join(SENTENCES), text)
    print(f"clean WER {error:.3f}: {text}")
    assert error <= CLEAN_WER_MAX
    sentences = result.result["Sentences"]
    assert len(sentences) == len(SENTENCES)  # one per spoken sentence, split at the pauses
    for got, (start, end) in zip(sentences, spans, strict=True):
        assert abs(got["start"] - start) < 0.3 and abs(got["end"] - end) < 0.3, (got, start, end)
        assert got["text"]

    # the test fixture gives every result type its own URL, as an Output with {resultType} does
    by_type = {t.result_type: t for t in result.outputs}
    assert set(by_type) == {"srt", "json"}
    cues = parse_srt(by_type["srt"].path.read_text(encoding="utf-8"))
    assert [c.text for c in cues] == [s["text"] for s in sentences]
    assert [round(c.start, 3) for c in cues] == [s["start"] for s in sentences]
    assert json.loads(by_type["json"].path.read_text(encoding="utf-8")) == result.result


@pytest.mark.slow
def test_noisy_speech_wer(run_algorithm, clip, tmp_path: Path) -> None:
    audio, _ = clip
    noisy = noise.mix_at_snr(audio, noise.white(len(audio), seed=1), 20.0)
    result = run_algorithm("ASR", _write(tmp_path / "noisy.wav", noisy), {"lang": "en"}, api="mts")
    error = wer(" ".join(SENTENCES), result.result["Text"])
    print(f"noisy (white, 20 dB SNR) WER {error:.3f}: {result.result['Text']}")
    assert error <= NOISY_WER_MAX


def test_digital_silence_gives_no_sentences(run_algorithm, tmp_path: Path) -> None:
    path = _write(tmp_path / "silence.wav", np.zeros(3 * RATE, np.float32))
    result = run_algorithm("ASR", path, {"lang": "en"}, api="mts")
    assert result.result == {"Text": "", "Sentences": []}


def test_both_languages_are_accepted_and_others_refused() -> None:
    spec = catalog.spec_for("ASR", catalog.MTS)
    for lang in ("zh", "en"):
        assert asr.check_params(catalog.validate_job_params(spec, {"lang": lang}, api=catalog.MTS)) == "srt"
    assert catalog.validate_job_params(spec, {}, api=catalog.MTS)["lang"] == "zh"  # the cloud's default
    with pytest.raises(catalog.ValidationError, match=r"lang.*'fr'.*zh.*en"):
        catalog.validate_job_params(spec, {"lang": "fr"}, api=catalog.MTS)


def test_model_files_match_the_upstream_hashes() -> None:
    files = _whisper.model_files()
    assert sorted(files) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert len(files["model.bin"]) == 145_217_532  # the two halves joined


def test_a_changed_model_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    packages, _ = _whisper.MODEL_FILES["config.json"]
    monkeypatch.setitem(_whisper.MODEL_FILES, "config.json", (packages, "0" * 64))
    with pytest.raises(AlgorithmError, match=r"config\.json.*SHA-256.*reinstall the pinned wheels"):
        _whisper.model_files()


def test_traditional_characters_become_simplified() -> None:
    assert _whisper.to_simplified("這份報告發給財務部") == "这份报告发给财务部"


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["", "f3"])
def test_mandarin_cer_and_simplified_output(run_algorithm, tmp_path: Path, variant: str) -> None:
    pad = np.zeros(RATE // 2, np.float32)
    indices = range(3)
    audio = np.concatenate(
        [np.concatenate([pad, mandarin.speak(i, variant=variant)]) for i in indices] + [pad]
    )
    result = run_algorithm("ASR", _write(tmp_path / "zh.wav", audio), {"lang": "zh"}, api="mts")
    text = result.result["Text"]
    reference = "".join(mandarin.reference(i) for i in indices)
    error = cer_zh(reference, text)
    print(f"Mandarin ({variant or 'default'} voice) CER {error:.3f}: {text}")
    assert error <= ZH_CER_MAX
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= len(reference) // 2  # it answered in Chinese
    assert _whisper.to_simplified(text) == text
    assert all(s["text"] and s["start"] < s["end"] for s in result.result["Sentences"])


@pytest.mark.slow
@pytest.mark.parametrize("voice", ["en-us+f3", "en-gb+m3"])
def test_other_english_voices(run_algorithm, tmp_path: Path, voice: str) -> None:
    sentences = speech_matrix.VOICES[voice].sentences[:2]
    pad = np.zeros(RATE // 2, np.float32)
    audio = np.concatenate([np.concatenate([pad, speech.speak(t, voice=voice)]) for t in sentences] + [pad])
    result = run_algorithm("ASR", _write(tmp_path / "v.wav", audio), {"lang": "en"}, api="mts")
    error = wer(" ".join(sentences), result.result["Text"])
    print(f"{voice} WER {error:.3f}: {result.result['Text']}")
    assert error <= VOICE_WER_MAX


def test_mandarin_generator_speaks_mandarin() -> None:
    """The listening proxy: espeak's own phonemes for every sentence the tests speak are Mandarin
    syllables with tones, and no word is read as English (``(en)`` would mark it)."""
    for characters, pinyin in mandarin.SENTENCES:
        ph = mandarin.check_is_mandarin(pinyin)
        assert "(en)" not in ph
        assert "(en)" not in mandarin.phonemes(characters, "cmn")  # espeak-ng 1.52 reads these too
    with pytest.raises(ValueError, match="switched language"):
        mandarin.check_is_mandarin("jin1 tian1 hello")


def test_not_audio_is_refused(run_algorithm, tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_bytes(b"this is not media at all" * 100)
    with pytest.raises(AlgorithmError, match="Input"):
        run_algorithm("ASR", path, {"lang": "en"}, api="mts")


def test_one_file_in_the_asked_format_without_result_type(tmp_path: Path) -> None:
    """An Output path with no {resultType}: every target gets the same URL, so only `format` is written."""
    audio = speech.speak("Please send the report before Friday.", rate=RATE)
    path = _write(tmp_path / "short.wav", np.concatenate([np.zeros(RATE // 2, np.float32), audio]))
    made: list[OutputTarget] = []

    def new_output(sequence_id=None, result_type=None, ext=None) -> OutputTarget:
        target = OutputTarget(
            tmp_path / f"out{len(made)}{ext}", "oss://b/transcript.txt", sequence_id, result_type
        )
        made.append(target)
        return target

    ctx = JobContext("ASR", "mts", path, {"lang": "en", "format": "json"}, None, tmp_path, new_output, Path)
    result = asr.run(ctx)
    assert [t.result_type for t in result.outputs] == ["json"]
    assert json.loads(result.outputs[0].path.read_text(encoding="utf-8")) == result.result
    assert result.result["Sentences"] and "report" in result.result["Text"]


@pytest.mark.slow
def test_sound_track_of_a_video(run_algorithm, tmp_path: Path) -> None:
    import subprocess

    import imageio_ffmpeg

    sentence = "Remember to switch off the lights and lock the door when you leave."
    wav = _write(
        tmp_path / "s.wav", np.concatenate([np.zeros(RATE // 2, np.float32), speech.speak(sentence)])
    )
    video = tmp_path / "clip"  # no extension: the content is probed, not the name
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=blue:s=320x180:r=10",
         "-i", str(wav), "-shortest", "-c:v", "libx264", "-c:a", "aac", "-f", "mp4", str(video)],
        check=True,
    )  # fmt: skip
    result = run_algorithm("ASR", video, {"lang": "en", "format": "srt"}, api="mts")
    assert wer(sentence, result.result["Text"]) <= CLEAN_WER_MAX, result.result["Text"]
