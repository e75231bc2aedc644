"""ASR quality and speed: Whisper base (what ASR runs) next to PocketSphinx (what it ran before).

Quality: English WER per voice (three English voices of ``tests/mediagen/speech_matrix.py``, four
sentences each, clean and with white noise at 10 dB SNR) for both recognisers side by side, and
Mandarin CER (punctuation left out) for Whisper on the six pinyin sentences in two voice variants.
Speed: the ASR job on 60 s of English speech, median of 3 runs, as x real time, against the time to
decode the same WAV alone, with the 1-minute load average (2 shared cores: wall time means little
when it is over 2).

Run from the repository root: ``.venv/bin/python bench/bench_asr.py [--quality] [--speed]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import soundfile as sf

from airflow_iprod.local.algorithms import _whisper, asr
from airflow_iprod.local.algorithms._audio_decode import load_mono
from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import mandarin, noise, speech, speech_matrix
from tests.mediagen.metrics_text import cer
from tests.mediagen.wer import wer

RATE = 16000
SECONDS = 60.0
PAD = np.zeros(RATE // 2, np.float32)


def _said(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.concatenate([PAD, p]) for p in parts] + [PAD])


def _cer_zh(reference: str, hypothesis: str) -> float:
    keep = lambda text: "".join(ch for ch in text if ch.isalnum())  # noqa: E731
    return cer(keep(reference), keep(hypothesis))


def quality() -> None:
    print("English WER (4 sentences per voice)      Whisper base   PocketSphinx")
    for key in ("en-us", "en-us+f3", "en-gb+m3"):
        voice = speech_matrix.VOICES[key]
        sentences = voice.sentences[:4]
        audio = _said([speech.speak(s, voice=voice.espeak_voice) for s in sentences])
        for label, clip in (("clean", audio), ("white 10 dB", None)):
            if clip is None:
                clip = noise.mix_at_snr(audio, noise.white(len(audio), seed=7), 10.0)
            ref = " ".join(sentences)
            whisper_text = " ".join(s.text for s in _whisper.transcribe(clip, "en"))
            sphinx_text = " ".join(" ".join(w.text for w in u) for u in asr.transcribe(clip))
            w_err, s_err = wer(ref, whisper_text), wer(ref, sphinx_text)
            print(f"  {key:10s} {label:12s}               {w_err:10.3f} {s_err:12.3f}")
    print("Mandarin CER (6 sentences, spoken from pinyin)  Whisper base")
    for variant in ("", "f3"):
        audio = _said([mandarin.speak(i, variant=variant) for i in range(len(mandarin.SENTENCES))])
        text = "".join(s.text for s in _whisper.transcribe(audio, "zh"))
        ref = "".join(c for c, _ in mandarin.SENTENCES)
        name = mandarin.PINYIN_VOICE + (f"+{variant}" if variant else "")
        print(f"  {name:22s} {_cer_zh(ref, text):10.3f}  {text}")


def speed() -> None:
    parts, spoken, filled = [], [], 0
    gap = np.zeros(9600, np.float32)
    for i in range(len(speech.SENTENCES) * 3):
        sentence = speech.SENTENCES[i % len(speech.SENTENCES)]
        said = speech.speak(sentence)
        if filled + len(said) + len(gap) > SECONDS * RATE:
            break
        parts += [said, gap]
        spoken.append(sentence)
        filled += len(said) + len(gap)
    audio = np.concatenate([*parts, np.zeros(round(SECONDS * RATE) - filled, np.float32)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        sf.write(str(path), audio, RATE, subtype="PCM_16")

        def new_output(sequence_id=None, result_type=None, ext=None) -> OutputTarget:
            out = Path(tmp) / f"out-{result_type}{ext}"
            return OutputTarget(out, f"oss://bench/out-{result_type}{ext}", sequence_id, result_type)

        t0 = time.perf_counter()
        _whisper.model_files()
        files_s = time.perf_counter() - t0
        _whisper.load_model.cache_clear()  # the quality run may have loaded it already
        t0 = time.perf_counter()
        _whisper.load_model(1)
        load_s = time.perf_counter() - t0
        ctx = JobContext(
            "ASR", "mts", path, {"lang": "en", "format": "srt"}, None, Path(tmp), new_output, Path
        )
        load_avg = os.getloadavg()[0]
        times, cpu, text = [], [], ""
        for _ in range(3):
            start, c0 = time.perf_counter(), time.process_time()
            text = asr.run(ctx).result["Text"]
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - c0)
        sphinx, sphinx_cpu = [], []
        for _ in range(3):
            start, c0 = time.perf_counter(), time.process_time()
            sphinx_text = " ".join(" ".join(w.text for w in u) for u in asr.transcribe(load_mono(path, RATE)))
            sphinx.append(time.perf_counter() - start)
            sphinx_cpu.append(time.process_time() - c0)
        decode = []
        for _ in range(3):
            start = time.perf_counter()
            load_mono(path, RATE)
            decode.append(time.perf_counter() - start)
    med, med_sphinx = statistics.median(times), statistics.median(sphinx)
    print(
        f"ASR (Whisper base, int8, one thread) on {SECONDS:.0f} s of speech: median {med:.2f} s = "
        f"{SECONDS / med:.2f}x real time (CPU {SECONDS / statistics.median(cpu):.2f}x; load {load_avg:.2f}); "
        f"WER {wer(' '.join(spoken), text):.3f}"
    )
    print(
        f"  model files read + SHA-256 checked: {files_s:.2f} s; model load: {load_s:.2f} s (once per worker)"
    )
    print(
        f"  PocketSphinx on the same file: median {med_sphinx:.2f} s = {SECONDS / med_sphinx:.2f}x real time"
        f" (CPU {SECONDS / statistics.median(sphinx_cpu):.2f}x); "
        f"WER {wer(' '.join(spoken), sphinx_text):.3f}"
    )
    print(f"  plain decode of the WAV: {statistics.median(decode) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--speed", action="store_true")
    args = parser.parse_args()
    if not (args.quality or args.speed):
        args.quality = args.speed = True
    if args.quality:
        quality()
    if args.speed:
        speed()


if __name__ == "__main__":
    main()
