"""AudioMixing: the main input with one more track mixed in, loudness normalised, never clipping.

* ``inputs``: ``[{"file": url}]``, exactly one track (as the service documents); fetched with ``ctx.fetch``.
  Both inputs may be any format PyAV decodes, including the sound of a video (MP4...).
* The output keeps the main input's sample rate and its length: the extra track is resampled to that
  rate, cut where the main ends, or padded with silence when shorter (it is not looped).
  Channels: the main's count, or stereo when the main is mono and the extra track is stereo.
* Both tracks are summed at their own levels (the user's balance is kept), then the mix is brought to
  ``TARGET_LUFS`` integrated loudness (ITU-R BS.1770 via pyloudnorm) and a look-ahead peak limiter keeps
  the 4x-oversampled (true) peak at or below ``CEILING_DBFS``. Output: 16-bit WAV.
"""

from __future__ import annotations

import numpy as np

from airflow_iprod.local.algorithms._audio_decode import decode_audio, resample, write_wav
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext

TARGET_LUFS = -16.0
CEILING_DBFS = -1.0
_MARGIN_DB = 0.2  # headroom for 16-bit rounding and what 4x oversampling misses
LIMITER_WINDOW_S = 0.02  # look-ahead and smoothing of the limiter's gain


def _match_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] == 1:
        return np.repeat(audio, channels, axis=0)
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    return audio[:channels]  # more channels than wanted: keep the front ones


def _fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    if audio.shape[1] >= length:
        return audio[:, :length]
    return np.pad(audio, ((0, 0), (0, length - audio.shape[1])))


def _sample_peaks(audio: np.ndarray) -> np.ndarray:
    """Per sample, the largest absolute value over channels of the 4x-oversampled signal around it."""
    from scipy.signal import resample_poly

    up = np.abs(resample_poly(audio, 4, 1, axis=1))
    n = audio.shape[1]
    return up[:, : n * 4].reshape(audio.shape[0], n, 4).max(axis=(0, 2))


def true_peak_dbfs(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.max(_sample_peaks(audio)) + 1e-12))


def limit(audio: np.ndarray, rate: int, ceiling_dbfs: float) -> np.ndarray:
    """Look-ahead limiter: the gain never exceeds what keeps every (true) peak under the ceiling.

    Required gain per sample -> minimum over a window -> mean over the same window: every averaged
    value only includes minima whose windows contain the sample, so it is <= that sample's requirement,
    and the gain moves smoothly (no clicks) instead of clipping.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (ceiling_dbfs / 20)
    need = np.minimum(1.0, ceiling / (_sample_peaks(audio) + 1e-12))
    if need.min() >= 1.0:
        return audio
    width = max(3, int(LIMITER_WINDOW_S * rate) | 1)
    gain = uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")
    return audio * np.minimum(gain, need)[None, :]


def mix(main: np.ndarray, main_rate: int, extra: np.ndarray, extra_rate: int) -> np.ndarray:
    import pyloudnorm

    channels = main.shape[0] if main.shape[0] > 1 else min(2, extra.shape[0])
    main = _match_channels(main, channels)
    extra = _fit_length(_match_channels(resample(extra, extra_rate, main_rate), channels), main.shape[1])
    out = (main + extra).astype(np.float64)
    if out.shape[1] >= int(0.4 * main_rate):  # BS.1770 gating needs at least one 400 ms block
        loudness = pyloudnorm.Meter(main_rate).integrated_loudness(out.T)
        if np.isfinite(loudness):
            out *= 10 ** ((TARGET_LUFS - loudness) / 20)
    out = limit(out, main_rate, CEILING_DBFS - _MARGIN_DB)
    peak = true_peak_dbfs(out)
    if peak > CEILING_DBFS - _MARGIN_DB:  # the smoothed gain is a bound, this is the belt and braces
        out *= 10 ** ((CEILING_DBFS - _MARGIN_DB - peak) / 20)
    return out.astype(np.float32)


def run(ctx: JobContext) -> AlgorithmResult:
    url = ctx.params["inputs"][0]["file"]  # the catalog allows exactly one track, an OSS URL
    main, main_rate = decode_audio(ctx.input_path, "Input")
    extra, extra_rate = decode_audio(ctx.fetch(url), f"JobParams.inputs[0].file ({url})")
    ctx.log(
        f"main {main.shape[0]} ch {main_rate} Hz {main.shape[1] / main_rate:.2f} s; "
        f"extra {extra.shape[0]} ch {extra_rate} Hz {extra.shape[1] / extra_rate:.2f} s"
    )
    out = mix(main, main_rate, extra, extra_rate)
    target = ctx.new_output(ext=".wav")
    write_wav(target.path, out, main_rate)
    return AlgorithmResult(outputs=[target], result={})
