"""Shared input for the speech-audio benchmarks: generated speech with white noise at a given SNR, as a
WAV in a temporary folder, and the JobContext that runs one algorithm on it."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import soundfile as sf

from airflow_iprod.local.algorithms.base import JobContext, OutputTarget
from tests.mediagen import noise, speech


@dataclass
class NoisySpeech:
    clean: np.ndarray
    noisy: np.ndarray
    src: Path  # the noisy WAV
    out: Path  # where the job's output file goes
    ctx: JobContext


@contextmanager
def noisy_speech(function_name: str, seconds: float, rate: int, snr_db: float) -> Iterator[NoisySpeech]:
    """``seconds`` of speech at ``rate`` with white noise (seed 1) at ``snr_db``, and ``function_name``'s
    job on it (2 threads); the folder is removed on exit."""
    clean = speech.speech_clip(seconds, rate)
    noisy = noise.mix_at_snr(clean, noise.white(len(clean), seed=1), snr_db)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(str(src), noisy, rate)
        ctx = JobContext(function_name, "ice", src, {}, None, Path(tmp),
                         lambda **_: OutputTarget(out, "oss://b/out.wav"), Path, threads=2)  # fmt: skip
        yield NoisySpeech(clean, noisy, src, out, ctx)


def decode_seconds(src: Path) -> float:
    """How long decoding the WAV alone takes: the floor under any algorithm's time."""
    t0 = time.perf_counter()
    sf.read(str(src), dtype="float32")
    return time.perf_counter() - t0
