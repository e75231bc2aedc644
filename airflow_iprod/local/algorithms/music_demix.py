"""MusicDemix: split a song into vocals and accompaniment, without a learned model.

Three classic cues, each a soft time-frequency mask on the STFT, multiplied together for the vocals:

* centre: the lead voice is mixed to the middle, so its bins are equal and in phase in both channels
  (inter-channel coherence, after Avendano & Jot); panned instruments fail this test;
* non-repetition (REPET-SIM, Rafii & Pardo): accompaniment repeats, so each frame's repeating part is the
  median of its most similar frames (neighbours found on a compact log-mel feature to keep it fast);
* harmonic vs percussive (median-filter HPSS): drums go to the accompaniment;
plus a band limit (below ~100 Hz is bass and kick). The accompaniment is the mix minus the vocals, so
the two outputs always add back up to the input. A mono input loses the centre cue (weaker separation).
Outputs: two WAV files at the input rate, ``resultType`` ``vocals`` and ``accompaniment``. No JobParams.
"""

from __future__ import annotations

import numpy as np

from airflow_iprod.local.algorithms._audio_decode import decode_audio, write_wav
from airflow_iprod.local.algorithms.base import AlgorithmError, AlgorithmResult, JobContext

CENTRE_SHARPNESS = 8  # power on the coherence: 0.95 (nearly centred) keeps 66 %, 0.7 (panned) keeps 6 %
REPEAT_SECONDS = 2.0  # similar frames must be at least this far apart (skip the frame's own note)
NEIGHBOURS = 20


def _soft(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Wiener-style mask of ``fg`` against ``bg`` (both magnitudes)."""
    return fg**2 / (fg**2 + bg**2 + 1e-12)


def _repeating_part(mag: np.ndarray, feature: np.ndarray, min_gap: int) -> np.ndarray:
    """Per frame, the median magnitude of its most similar frames at least ``min_gap`` frames away."""
    frames = mag.shape[1]
    min_gap = min(min_gap, max(1, frames // 4))
    k = min(NEIGHBOURS, max(1, frames // 8))
    unit = feature - feature.mean(axis=1, keepdims=True)
    unit = (unit / (np.linalg.norm(unit, axis=0, keepdims=True) + 1e-9)).astype(np.float32)
    out = np.empty_like(mag)
    block = 512
    for start in range(0, frames, block):
        stop = min(frames, start + block)
        sim = unit[:, start:stop].T @ unit  # (block, frames) cosine similarity
        rows = np.arange(start, stop)[:, None]
        sim[np.abs(rows - np.arange(frames)[None, :]) < min_gap] = -np.inf
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        # (freq, block, k) -> median over the neighbours
        out[:, start:stop] = np.median(mag[:, nearest], axis=2)
    return out


def vocal_mask(left: np.ndarray, right: np.ndarray, sr: int, n_fft: int, hop: int) -> np.ndarray:
    import librosa

    mid = 0.5 * (left + right)
    mag = np.abs(mid)
    cross = left * np.conj(right)
    power = np.abs(left) ** 2 + np.abs(right) ** 2 + 1e-12
    # 1 only when both channels carry the same magnitude with the same phase
    centre = np.clip(2 * np.abs(cross) / power, 0, 1) ** CENTRE_SHARPNESS
    centre *= np.clip(np.real(cross) / (np.abs(cross) + 1e-12), 0, 1)

    mel = librosa.power_to_db(librosa.feature.melspectrogram(S=mag**2, sr=sr, n_mels=64))
    repeating = np.minimum(mag, _repeating_part(mag, mel, int(REPEAT_SECONDS * sr / hop)))
    unique = _soft(mag - repeating, repeating)

    harmonic, percussive = librosa.decompose.hpss(mag, kernel_size=(17, 31))
    tonal = _soft(harmonic, percussive)

    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    band = np.clip((freqs - 80) / 80, 0, 1) * np.clip((12000 - freqs) / 4000, 0, 1)
    return centre * unique * tonal * band[:, None]


def separate(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(vocals, accompaniment) of ``(channels, samples)`` audio; both keep the input's channels."""
    import librosa

    n_fft = 2048 if sr > 32000 else 1024  # ~46 ms windows at either rate
    hop = n_fft // 4
    stereo = audio[:2] if audio.shape[0] >= 2 else np.repeat(audio[:1], 2, axis=0)
    spec = [librosa.stft(ch, n_fft=n_fft, hop_length=hop) for ch in stereo]
    mask = vocal_mask(spec[0], spec[1], sr, n_fft, hop)
    n = audio.shape[1]
    if audio.shape[0] == 2:
        vocals = np.stack([librosa.istft(mask * s, hop_length=hop, length=n) for s in spec])
    else:
        # mono or more than two channels: the voice estimate goes to every channel in its share of the mid
        mid = librosa.istft(mask * 0.5 * (spec[0] + spec[1]), hop_length=hop, length=n)
        vocals = np.repeat(mid[None, :], audio.shape[0], axis=0)
        if audio.shape[0] > 2:
            vocals[2:] = 0.0  # surround/LFE channels keep their content in the accompaniment
    return vocals.astype(np.float32), (audio - vocals).astype(np.float32)


def run(ctx: JobContext) -> AlgorithmResult:
    audio, sr = decode_audio(ctx.input_path)
    if audio.shape[1] < sr:
        raise AlgorithmError(
            f"Input: the audio lasts {audio.shape[1] / sr:.2f} s; demixing needs at least 1 s"
        )
    if audio.shape[0] == 1:
        ctx.log("mono input: no stereo centre cue, separation relies on repetition and harmonicity only")
    vocals, accompaniment = separate(audio, sr)
    outputs = []
    for kind, signal in (("vocals", vocals), ("accompaniment", accompaniment)):
        target = ctx.new_output(result_type=kind, ext=".wav")
        write_wav(target.path, signal, sr)
        outputs.append(target)
    return AlgorithmResult(outputs=outputs, result={})
