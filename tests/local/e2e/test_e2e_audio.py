"""Speech-audio algorithms end to end through the SDKs: SpeechDenoise, AudioQualityAssessment and
AudioMixing (ICE and MPS), on generated espeak speech, known noise and generated music.

All jobs of the module are submitted at once (module fixture) so the engine's workers overlap them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.local.e2e.conftest import needs
from tests.mediagen import metrics, noise, speech
from tests.mediagen.metrics import ffmpeg_lufs
from tests.mediagen.music import beat_song

pytestmark = pytest.mark.slow

RATE = 16000
AQA_KEYS = {
    "Channel",
    "MOS",
    "MOS(0-5)",
    "Worst MOS(0-5)",
    "Discontinuity",
    "Discontinuity(0-5)",
    "Worst Discontinuity(0-5)",
    "Loudness",
    "Loudness(0-5)",
    "Loudness(-90dB-0dB)",
    "Noisiness",
    "Noisiness(0-5)",
    "Worst Noisiness(0-5)",
    "Coloration",
    "Coloration(0-5)",
    "Worst Coloration(0-5)",
    "Speech Ratio",
    "Saturated Ratio(%)",
    "Bad Mute Ratio(%)",
    "Double Talk Ratio(%)",
    "Total Duration",
    "Tag",
    "Time",
    "Input",
}  # fmt: skip  (the keys of the documented example; the engine may add more)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-audio")
    out: dict[str, Any] = {}
    # SpeechDenoise: 6 s of speech at 5 dB SNR white noise, 16 kHz (the direct test's white-noise case).
    clean = speech.speech_clip(6, RATE)
    noisy = noise.mix_at_snr(clean, noise.white(len(clean), seed=3), 5.0)
    sf.write(tmp / "noisy-talk.wav", noisy, RATE, subtype="PCM_16")
    url = upload(tmp / "noisy-talk.wav", "e2e/audio/in/noisy-talk.wav")
    out["denoise"] = (
        jobs.submit("ice", "SpeechDenoise", url, "oss://media/e2e/audio/dn/{source}-{timestamp}.wav"),
        (clean, noisy),
    )
    # AudioQualityAssessment: 8 s speech at 20 dB SNR, 48 kHz float WAV; no output file.
    aqa_clean = speech.speech_clip(8, 48000)
    aqa_audio = noise.mix_at_snr(aqa_clean, noise.white(len(aqa_clean), seed=1), 20.0)
    sf.write(tmp / "meeting.wav", aqa_audio, 48000, subtype="FLOAT")
    url = upload(tmp / "meeting.wav", "e2e/audio/in/meeting.wav")
    out["aqa"] = (jobs.submit("ice", "AudioQualityAssessment", url, None), tmp / "meeting.wav")
    # AudioMixing: 8 s of hot speech mixed with 8 s of drum-and-chord music (FLAC), once per API.
    voice = speech.speech_clip(8, RATE, first=4) * 1.3
    sf.write(tmp / "voice.wav", voice, RATE)
    song = beat_song(120, seconds=9, seed=9)
    music = song.audio[0]
    sf.write(tmp / "bed.flac", music, song.sr)
    main_url = upload(tmp / "voice.wav", "e2e/audio/in/voice.wav")
    bed_url = upload(tmp / "bed.flac", "e2e/audio/in/bed.flac")
    for api in ("ice", "mts"):
        job = jobs.submit(
            api, "AudioMixing", main_url, f"oss://media/e2e/audio/mix-{api}/{{source}}-{{timestamp}}.wav",
            {"inputs": [{"file": bed_url}]},
        )  # fmt: skip
        out[f"mix-{api}"] = (job, (voice, music, song.sr))
    return out


@needs("SpeechDenoise")
def test_speech_denoise_si_sdr_gain(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, (clean, noisy) = submitted["denoise"]
    body = jobs.wait(job)
    assert job.result == {} and body["OutputMediaIds"] == []
    (url,) = jobs.outputs(job)
    assert url.endswith(".wav") and "/noisy-talk-" in url
    out, rate = sf.read(jobs.download(url, tmp_path / "out.wav"), dtype="float32")
    assert rate == RATE and out.shape == noisy.shape
    before, after = metrics.si_sdr(clean, noisy), metrics.si_sdr(clean, out)
    print(f"E2E SpeechDenoise: SI-SDR {before:.2f} -> {after:.2f} dB (gain {after - before:.2f} dB)")
    assert after - before >= 6.0


@needs("AudioQualityAssessment")
def test_audio_quality_assessment_loudness(jobs: Any, submitted: dict) -> None:
    job, path = submitted["aqa"]
    body = jobs.wait(job)
    assert body["OutputFiles"] == [] and body["OutputUrls"] == []
    rows = job.result
    assert isinstance(rows, list) and len(rows) == 1
    row = rows[0]
    assert set(row) >= AQA_KEYS, AQA_KEYS - set(row)
    assert all(isinstance(v, str) for v in row.values())  # the documented example quotes every value
    assert row["Channel"] == "1" and row["Tag"] == "Valid"
    assert float(row["Total Duration"]) == pytest.approx(8.0, abs=0.05)
    for key in ("MOS(0-5)", "Loudness(0-5)", "Noisiness(0-5)", "Coloration(0-5)", "Discontinuity(0-5)"):
        assert 0.0 <= float(row[key]) <= 5.0, (key, row[key])
    lufs, reference = float(row["Integrated Loudness(LUFS)"]), ffmpeg_lufs(path)
    print(f"E2E AudioQualityAssessment: {lufs:.2f} LUFS vs ffmpeg ebur128 {reference:.2f} LUFS")
    assert abs(lufs - reference) <= 0.5


@needs("AudioMixing")
@pytest.mark.parametrize("api", ["ice", "mts"])
def test_audio_mixing_level_and_presence(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    import pyloudnorm

    from airflow_iprod.local.algorithms._audio_decode import resample
    from airflow_iprod.local.algorithms.audio_mixing import true_peak_dbfs

    job, (voice, music, music_rate) = submitted[f"mix-{api}"]
    mixed, rate = sf.read(jobs.only_output(job, tmp_path), dtype="float32", always_2d=True)
    assert job.result == {}
    assert rate == RATE and mixed.shape[0] == voice.size  # the main input's rate and length
    mono = mixed.mean(axis=1)
    peak = true_peak_dbfs(mixed.T)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(mixed)
    c_voice, c_music = _corr(mono, voice), _corr(mono, resample(music, music_rate, rate))
    print(f"E2E AudioMixing ({api}): peak {peak:.2f} dBTP, {loudness:.2f} LUFS, corr voice {c_voice:.2f}, "
          f"music {c_music:.2f}")  # fmt: skip
    assert peak <= -1.0
    assert abs(loudness + 16.0) <= 1.0
    assert c_voice > 0.3 and c_music > 0.3
