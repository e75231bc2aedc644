"""AudioMixing: speech mixed with the music track of an MP4; loudness, peak and presence of both."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from airflow_iprod.local.algorithms._audio_decode import decode_audio, resample
from airflow_iprod.local.algorithms.audio_mixing import true_peak_dbfs
from tests.mediagen.music import beat_song
from tests.mediagen.speech import speech_clip


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def _music_video(tmp_path: Path, seconds: float) -> tuple[Path, np.ndarray, int]:
    song = beat_song(120, seconds=seconds, seed=9)
    wav = song.write(tmp_path / "music.wav")
    mp4 = tmp_path / "clip.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=15:duration={seconds}", "-i", str(wav),
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-shortest", str(mp4),
    )  # fmt: skip
    return mp4, song.audio[0], song.sr


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


@pytest.mark.slow
def test_speech_and_video_music_mixed(run_algorithm, tmp_path: Path) -> None:
    rate = 16000
    speech = speech_clip(10, rate=rate) * 1.3  # hot speech: the sum clips before the limiter
    sf.write(tmp_path / "voice.wav", speech, rate)
    mp4, music, music_rate = _music_video(tmp_path, 12)  # longer than the voice: cut to 10 s

    out = run_algorithm(
        "AudioMixing", tmp_path / "voice.wav", {"inputs": [{"file": f"oss://test-bucket/{mp4.name}"}]}
    )
    (target,) = out.outputs
    mixed, out_rate = decode_audio(target.path)
    assert out_rate == rate and mixed.shape == (2, speech.size)  # main's rate and length, stereo music

    peak = true_peak_dbfs(mixed)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(mixed.T)
    mono = mixed.mean(axis=0)
    c_speech = _corr(mono, speech)
    # AAC adds a priming delay: compare with the music as decoded from the video itself
    decoded_music, dec_rate = decode_audio(mp4)
    c_music = _corr(mono, resample(decoded_music.mean(axis=0), dec_rate, rate))
    print(f"peak {peak:.2f} dBTP, {loudness:.2f} LUFS, corr speech {c_speech:.2f}, music {c_music:.2f}")
    assert peak <= -1.0
    assert abs(loudness - (-16.0)) <= 1.0
    assert c_speech > 0.3
    assert c_music > 0.3
    assert (
        abs(_corr(resample(music, music_rate, rate), resample(decoded_music.mean(0), dec_rate, rate))) > 0.5
    )


def test_short_extra_is_padded_and_quiet_mix_is_raised(run_algorithm, tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate * 4) / rate
    sf.write(tmp_path / "main.wav", 0.01 * np.sin(2 * np.pi * 220 * t), rate)  # about -43 dBFS
    sf.write(tmp_path / "extra.flac", 0.01 * np.sin(2 * np.pi * 330 * t[: rate // 2]), rate)
    out = run_algorithm(
        "AudioMixing", tmp_path / "main.wav", {"inputs": [{"file": "oss://test-bucket/extra.flac"}]}
    )
    mixed, _ = decode_audio(out.outputs[0].path)
    assert mixed.shape == (1, t.size)
    assert true_peak_dbfs(mixed) <= -1.0
    assert pyloudnorm.Meter(rate).integrated_loudness(mixed[0]) == pytest.approx(-16.0, abs=1.0)
    spectrum = np.abs(np.fft.rfft(mixed[0, rate:]))  # after the extra ended: only the main's 220 Hz
    assert spectrum[330 * 3] < 0.01 * spectrum[220 * 3]
