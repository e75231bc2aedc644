"""ASR (MPS): speech to timed text, Mandarin (``zh``, the default) and English (``en``).

The input is any audio file or the sound track of a video (decoded with PyAV, mixed to mono and
resampled to 16 kHz). It is recognised by Whisper base through faster-whisper (``_whisper``), with the
model loaded from two pinned pip wheels and checked against the upstream hashes: nothing is
downloaded. Every Whisper segment becomes one sentence, timed by its first and last word; Chinese
comes out in simplified characters, as the cloud answers.

The PocketSphinx path below (WebRTC VAD utterances, US-English model from the ``pocketsphinx``
wheel) is what ASR ran before Whisper; bench/bench_asr.py compares the two side by side
(bench/README.md).
PocketSphinx needs a faint noise floor: its noise and cepstral-mean estimates break down on stretches
of exact digital silence (synthetic or gated audio), which we measured to more than double the WER.

Output: one transcript file per job, SRT or JSON as ``format`` asks; when the Output path holds
``{resultType}`` both are written (result types ``srt`` and ``json``). Result:
``{"Text": "...", "Sentences": [{"start": s, "end": s, "text": "..."}, ...]}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from airflow_iprod.local.algorithms._srt import Cue, to_srt
from airflow_iprod.local.algorithms.base import (
    AlgorithmResult,
    JobContext,
    UnsupportedOption,
)

RATE = 16000
LOCAL_LANGS = ("zh", "en")  # what Whisper recognises here (the catalog's choices)
FORMATS = ("srt", "json")

VAD_MODE = 2  # webrtcvad aggressiveness 0-3
VAD_FRAME = 480  # 30 ms at 16 kHz
MIN_GAP = 0.35  # s of non-speech that ends an utterance (shorter pauses stay inside a sentence)
MIN_SPEECH = 0.15  # s; shorter voiced blips (clicks, breaths) are dropped
PAD = 0.2  # s of context kept on each side of an utterance
MAX_UTTERANCE = 20.0  # s; longer stretches are split at their quietest frame
PEAK = 0.7  # input is peak-normalised to this before the noise floor is added
NOISE_FLOOR = 0.003  # RMS of the added floor (-50 dBFS; 0.0014 and 0.005 measured worse on espeak speech)
FRAMES_PER_SECOND = 100  # PocketSphinx's default frame rate

_NOT_WORDS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")
_ALT_PRON = re.compile(r"\(\d+\)$")  # "read(2)": the dictionary's second pronunciation


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


def check_params(params: dict[str, Any]) -> str:
    """The job's format; ``UnsupportedOption`` for a language the local engine lacks. Cheap, so the
    engine calls it at Submit."""
    if params["lang"] not in LOCAL_LANGS:
        raise UnsupportedOption(
            f"JobParams.lang: {params['lang']!r} cannot be recognised by the local engine; "
            f"allowed locally: {', '.join(LOCAL_LANGS)}"
        )
    return params["format"]


def prepare(audio: np.ndarray) -> np.ndarray:
    """DC removed, peak-normalised, plus a fixed faint noise floor (seeded: same input, same text)."""
    audio = audio.astype(np.float32) - float(np.mean(audio)) if audio.size else audio.astype(np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1e-6:
        audio = audio * (PEAK / peak)
    floor = np.random.default_rng(0).normal(0.0, NOISE_FLOOR, audio.size).astype(np.float32)
    return audio + floor


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def utterances(pcm: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges [start, end) of speech, cut at pauses of at least ``MIN_GAP``."""
    import webrtcvad

    vad = webrtcvad.Vad(VAD_MODE)
    n = len(pcm) // VAD_FRAME
    voiced = np.array(
        [vad.is_speech(pcm[i * VAD_FRAME : (i + 1) * VAD_FRAME].tobytes(), RATE) for i in range(n)], bool
    )
    frame_s = VAD_FRAME / RATE
    runs = _runs(voiced)
    merged: list[list[int]] = []
    for start, end in runs:
        if merged and (start - merged[-1][1]) * frame_s < MIN_GAP:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    pad = round(PAD / frame_s)
    spans = []
    for start, end in merged:
        if (end - start) * frame_s < MIN_SPEECH:
            continue
        spans += _split_long(pcm, max(0, start - pad), min(n, end + pad))
    return [(s * VAD_FRAME, min(len(pcm), e * VAD_FRAME)) for s, e in spans]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _split_long(pcm: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """Frame range split at its quietest frames until no piece is longer than ``MAX_UTTERANCE``."""
    limit = round(MAX_UTTERANCE * RATE / VAD_FRAME)
    if end - start <= limit:
        return [(start, end)]
    frames = pcm[start * VAD_FRAME : end * VAD_FRAME].astype(np.float32).reshape(-1, VAD_FRAME)
    energy = (frames**2).mean(axis=1)
    quarter = (end - start) // 4  # keep the cut away from the edges
    cut = start + quarter + int(np.argmin(energy[quarter : len(energy) - quarter]))
    return _split_long(pcm, start, cut) + _split_long(pcm, cut, end)


def _decoder() -> Any:
    from pocketsphinx import Decoder

    # The wheel's own model folder (acoustic model, en-us LM, CMU dictionary) is the default.
    # Narrower search than the defaults (measured on espeak speech: ~1.6x faster, WER no worse):
    # at most 5000 active HMMs a frame, phone lookahead, no second flat-lexicon pass.
    return Decoder(samprate=RATE, loglevel="FATAL", maxhmmpf=5000, pl_window=5, fwdflat=False)


def decode(decoder: Any, pcm: np.ndarray, offset: float) -> list[Word]:
    """Words of one utterance, times in seconds from the start of the input."""
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return []
    words = []
    for seg in decoder.seg():
        if _NOT_WORDS.match(seg.word):
            continue
        words.append(
            Word(
                _ALT_PRON.sub("", seg.word),
                offset + seg.start_frame / FRAMES_PER_SECOND,
                offset + (seg.end_frame + 1) / FRAMES_PER_SECOND,
            )
        )
    return words


def transcribe(audio: np.ndarray) -> list[tuple[Word, ...]]:
    """16 kHz mono float audio -> the words of each utterance (empty utterances left out).

    One decoder, one thread: PocketSphinx holds the GIL while it searches (two threads measured no
    faster), and its noise and cepstral-mean estimates carry from one utterance to the next, so
    sharing utterances among decoders would make the transcript depend on the thread count.
    """
    pcm = to_pcm16(prepare(audio))
    decoder = _decoder()
    sentences = [tuple(decode(decoder, pcm[s:e], s / RATE)) for s, e in utterances(pcm)]
    return [words for words in sentences if words]


def run(ctx: JobContext) -> AlgorithmResult:
    from airflow_iprod.local.algorithms import _whisper
    from airflow_iprod.local.algorithms._audio_decode import load_mono

    fmt = check_params(ctx.params)
    audio = load_mono(ctx.input_path, RATE)
    sentences = _whisper.transcribe(audio, ctx.params["lang"], ctx.threads)
    cues = [Cue(s.start, s.end, s.text) for s in sentences]
    ctx.log(f"{len(audio) / RATE:.1f} s of audio, {len(cues)} sentences ({ctx.params['lang']})")
    joiner = "" if ctx.params["lang"] == "zh" else " "
    result = {"Text": joiner.join(c.text for c in cues), "Sentences": [c.as_dict() for c in cues]}
    files = {"srt": to_srt(cues), "json": json.dumps(result, ensure_ascii=False, indent=2) + "\n"}
    # Both formats when the Output path has {resultType} (the two targets then get different URLs).
    targets = {kind: ctx.new_output(result_type=kind, ext=f".{kind}") for kind in FORMATS}
    chosen = list(FORMATS) if targets["srt"].url != targets["json"].url else [fmt]
    for kind in chosen:
        targets[kind].path.write_text(files[kind], encoding="utf-8")
    return AlgorithmResult(outputs=[targets[kind] for kind in chosen], result=result)
