"""SpeechDenoise: remove background noise from speech, every channel, at the input's own rate.

Input must be a WAV file at 16 kHz or 48 kHz (as the cloud service requires). The local engine runs
RNNoise (the recurrent-network suppressor from Xiph, weights inside the ``pyrnnoise`` wheel) on each
channel at 48 kHz (16 kHz input is resampled with soxr there and back), then mixes a small part of
the input back in: an attenuation limit of ``ATTENUATION_LIMIT_DB``, which costs a fraction of a dB
on stationary noise but stops RNNoise from erasing speech it mistakes for noise (competing talkers).

Output: WAV with the input's rate, channel count, sample format and length, time-aligned with the
input (RNNoise's latency is removed), never clipped (scaled down as a whole if a peak would pass
full scale). Long inputs are cut into segments processed on ``ctx.threads`` threads; each segment
starts one second early so the network state has settled when its kept part begins.
"""

from __future__ import annotations

import ctypes
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

ALLOWED_RATES = (16000, 48000)
RNNOISE_RATE = 48000
FRAME = 480  # RNNoise works on 10 ms frames at 48 kHz
LATENCY = 960  # samples RNNoise's output trails its input at 48 kHz (measured, see tests)
WARMUP = RNNOISE_RATE  # samples of pre-roll per segment
MIN_SEGMENT = 10 * RNNOISE_RATE  # do not split shorter stretches across threads
ATTENUATION_LIMIT_DB = 20.0
_PCM_SCALE = 32768.0  # RNNoise expects samples on the int16 scale
_WRITABLE_SUBTYPES = {"PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"}


class _RNNoise:
    """Minimal ctypes binding to the librnnoise shipped in the pyrnnoise wheel.

    Loaded by path rather than through ``import pyrnnoise``, whose package import pulls in unrelated
    audio I/O dependencies.
    """

    def __init__(self) -> None:
        spec = importlib.util.find_spec("pyrnnoise")
        if spec is None or spec.origin is None:
            raise AlgorithmError("SpeechDenoise needs the 'pyrnnoise' package", code="InternalError")
        lib = ctypes.CDLL(str(Path(spec.origin).parent / "librnnoise.so"))
        lib.rnnoise_create.argtypes = (ctypes.c_void_p,)
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_destroy.argtypes = (ctypes.c_void_p,)
        lib.rnnoise_destroy.restype = None
        lib.rnnoise_process_frame.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        if lib.rnnoise_get_frame_size() != FRAME:
            raise AlgorithmError("unexpected RNNoise frame size", code="InternalError")
        self.lib = lib

    def process(self, x: np.ndarray) -> np.ndarray:
        """Denoise a float32 signal at 48 kHz (int16 scale); output has the same length, latency kept."""
        n_frames = -(-len(x) // FRAME)
        buf = np.zeros(n_frames * FRAME, np.float32)
        buf[: len(x)] = x
        out = np.empty_like(buf)
        state = self.lib.rnnoise_create(None)
        try:
            src, dst = buf.ctypes.data, out.ctypes.data
            step = FRAME * buf.itemsize
            process = self.lib.rnnoise_process_frame
            for i in range(n_frames):
                process(state, dst + i * step, src + i * step)
        finally:
            self.lib.rnnoise_destroy(state)
        return out[: len(x)]


def _denoise_48k(rnn: _RNNoise, x: np.ndarray, pool: ThreadPoolExecutor, threads: int) -> np.ndarray:
    """RNNoise over ``x`` (48 kHz, int16 scale), latency removed, split over ``threads`` segments."""
    n = len(x)
    padded = np.concatenate([x, np.zeros(LATENCY, np.float32)])
    parts = max(1, min(threads, n // MIN_SEGMENT))
    bounds = np.linspace(0, n, parts + 1).astype(int)

    def segment(k: int) -> np.ndarray:
        start, stop = int(bounds[k]), int(bounds[k + 1])
        lead = min(WARMUP, start)
        # Whole frames of pre-roll keep the frame grid identical to a single pass.
        lead -= lead % FRAME
        y = rnn.process(padded[start - lead : stop + LATENCY])
        return y[lead + LATENCY :]

    return np.concatenate(list(pool.map(segment, range(parts))))[:n]


def _check_input(path: Path) -> tuple[int, str]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise AlgorithmError(
            f"Input: not a readable audio file ({exc}); SpeechDenoise accepts WAV at 16000 or 48000 Hz"
        ) from exc
    if info.format not in ("WAV", "WAVEX"):
        raise AlgorithmError(
            f"Input: format {info.format} ({info.format_info}) is not allowed; "
            "SpeechDenoise accepts WAV at 16000 or 48000 Hz"
        )
    if info.samplerate not in ALLOWED_RATES:
        raise AlgorithmError(
            f"Input: WAV sample rate {info.samplerate} Hz is not allowed; "
            "SpeechDenoise accepts WAV at 16000 or 48000 Hz"
        )
    if info.frames == 0:
        raise AlgorithmError("Input: the WAV file holds no samples; SpeechDenoise needs audio")
    return info.samplerate, info.subtype


def denoise(audio: np.ndarray, rate: int, threads: int = 1) -> np.ndarray:
    """Denoise ``audio`` (float, shape (samples, channels), full scale 1.0) at 16 or 48 kHz."""
    import soxr

    rnn = _RNNoise()
    keep = 10 ** (-ATTENUATION_LIMIT_DB / 20)
    out = np.empty(audio.shape, np.float32)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for ch in range(audio.shape[1]):
            x = audio[:, ch].astype(np.float32)
            x48 = x if rate == RNNOISE_RATE else soxr.resample(x, rate, RNNOISE_RATE, quality="HQ")
            y48 = _denoise_48k(rnn, x48 * _PCM_SCALE, pool, max(1, threads)) / _PCM_SCALE
            y = y48 if rate == RNNOISE_RATE else soxr.resample(y48, RNNOISE_RATE, rate, quality="HQ")
            y = np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]
            out[:, ch] = (1 - keep) * y + keep * x
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.999:  # scale the whole file rather than clip a single peak
        out *= 0.999 / peak
    return out


def run(ctx: JobContext) -> AlgorithmResult:
    import soundfile as sf

    rate, subtype = _check_input(ctx.input_path)
    audio, _ = sf.read(str(ctx.input_path), dtype="float32", always_2d=True)
    ctx.log(f"denoising {audio.shape[1]} channel(s), {len(audio) / rate:.2f} s at {rate} Hz")
    out = denoise(audio, rate, ctx.threads)
    target = ctx.new_output(ext=".wav")
    sf.write(str(target.path), out, rate, subtype=subtype if subtype in _WRITABLE_SUBTYPES else "PCM_16")
    return AlgorithmResult(outputs=[target], result={})
