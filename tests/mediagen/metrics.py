"""Objective measures for audio tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019), both mean-removed."""
    ref = np.asarray(reference, np.float64).ravel()
    est = np.asarray(estimate, np.float64).ravel()
    n = min(len(ref), len(est))
    ref = ref[:n] - ref[:n].mean()
    est = est[:n] - est[:n].mean()
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = alpha * ref
    residual = est - target
    return float(10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(residual, residual) + 1e-12)))


def snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain SNR in dB of ``estimate`` against ``reference`` (no rescaling)."""
    ref = np.asarray(reference, np.float64).ravel()
    est = np.asarray(estimate, np.float64).ravel()
    n = min(len(ref), len(est))
    err = est[:n] - ref[:n]
    return float(10 * np.log10((np.dot(ref[:n], ref[:n]) + 1e-12) / (np.dot(err, err) + 1e-12)))


def best_lag(reference: np.ndarray, estimate: np.ndarray, max_lag: int) -> int:
    """Lag (samples) by which ``estimate`` trails ``reference``, searched in [-max_lag, max_lag]."""
    ref = np.asarray(reference, np.float64).ravel()
    est = np.asarray(estimate, np.float64).ravel()
    n = min(len(ref), len(est))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(est[:n], size) * np.conj(np.fft.rfft(ref[:n], size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
    return int(lags[int(np.argmax(values))])


def peak_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x)) + 1e-12))


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-20))


def ffmpeg_lufs(path: Path) -> float:
    """Integrated loudness of a file by ffmpeg's ebur128 filter: the reference loudness meter."""
    import imageio_ffmpeg

    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
