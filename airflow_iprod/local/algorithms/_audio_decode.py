"""Decode the audio track of any container PyAV opens (WAV, MP3, AAC, FLAC, the sound of an MP4...).

Inputs arrive with whatever extension the object had (or none), so the content is probed, never the
name. Samples come back as float32 ``(channels, samples)`` in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from airflow_iprod.local.algorithms.base import AlgorithmError


def decode_audio(path: Path, field: str = "Input") -> tuple[np.ndarray, int]:
    """The first audio stream of ``path`` at its own rate and channel count."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise AlgorithmError(
            f"{field}: cannot open {path.name!r} as media ({exc}); an audio file or a video with an audio "
            "track is required"
        ) from exc
    with container:
        streams = container.streams.audio
        if not streams:
            raise AlgorithmError(
                f"{field}: {path.name!r} has no audio stream; an audio file or a video with sound is required"
            )
        stream = streams[0]
        rate = stream.codec_context.sample_rate or stream.rate
        channels = stream.codec_context.channels or 1
        # one planar float layout for every codec, keeping the stream's own rate and channels
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise AlgorithmError(f"{field}: the audio of {path.name!r} cannot be decoded ({exc})") from exc
    if not chunks:
        raise AlgorithmError(f"{field}: {path.name!r} holds no audio samples; a non-empty audio is required")
    audio = np.concatenate(chunks, axis=1).astype(np.float32)
    return audio.reshape(channels, -1) if audio.shape[0] != channels else audio, int(rate)


def to_mono(audio: np.ndarray) -> np.ndarray:
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return audio
    import soxr

    # soxr wants (samples, channels)
    return np.ascontiguousarray(soxr.resample(audio.T, rate, target, quality="HQ").T.astype(np.float32))


def load_mono(path: Path, target_rate: int, field: str = "Input") -> np.ndarray:
    """Mono float32 at ``target_rate``: what the music-analysis algorithms work on."""
    audio, rate = decode_audio(path, field)
    return resample(to_mono(audio), rate, target_rate)


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """16-bit PCM WAV of ``(channels, samples)`` float audio (clipped to full scale)."""
    import soundfile as sf

    sf.write(str(path), np.clip(audio, -1.0, 1.0).T, rate, subtype="PCM_16", format="WAV")
