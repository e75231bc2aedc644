"""AudioQualityAssessment on espeak speech with known damage: loudness vs ffmpeg, clipping, dropouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from airflow_iprod.local.algorithms import audio_quality_assessment as aqa
from airflow_iprod.local.algorithms.speech_denoise import denoise
from tests.mediagen import noise, speech
from tests.mediagen.metrics import ffmpeg_lufs

RATE = 16000
KEYS = [
    "Channel", "MOS", "MOS(0-5)", "Worst MOS(0-5)", "Discontinuity", "Discontinuity(0-5)",
    "Worst Discontinuity(0-5)", "Loudness", "Loudness(0-5)", "Loudness(-90dB-0dB)", "Noisiness",
    "Noisiness(0-5)", "Worst Noisiness(0-5)", "Coloration", "Coloration(0-5)", "Worst Coloration(0-5)",
    "Speech Ratio", "Saturated Ratio(%)", "Bad Mute Ratio(%)", "Double Talk Ratio(%)", "Total Duration",
    "Tag", "Time", "Input", "Integrated Loudness(LUFS)",
]  # fmt: skip


def _assess(run_algorithm, path: Path) -> list[dict[str, str]]:
    result = run_algorithm("AudioQualityAssessment", path)
    assert result.outputs == []
    return result.result


@pytest.mark.parametrize(("rate", "gain"), [(48000, 1.0), (16000, 0.2)])
def test_integrated_loudness_matches_ffmpeg(run_algorithm, tmp_path: Path, rate: int, gain: float) -> None:
    clean = speech.speech_clip(8, rate)
    audio = gain * noise.mix_at_snr(clean, noise.white(len(clean), seed=1), 20.0)
    path = tmp_path / "speech.wav"
    sf.write(str(path), audio, rate, subtype="FLOAT")
    row = _assess(run_algorithm, path)[0]
    assert list(row) == KEYS
    assert all(isinstance(v, str) for v in row.values())
    assert abs(float(row["Integrated Loudness(LUFS)"]) - ffmpeg_lufs(path)) <= 0.5
    assert row["Tag"] == "Valid" and float(row["Total Duration"]) == pytest.approx(8.0)


def _loud_spots(x: np.ndarray, count: int) -> list[int]:
    """Sample indices in the middle of loud 100 ms stretches, at least 1 s apart."""
    hop = RATE // 10
    rms = np.sqrt(np.convolve(x**2, np.ones(hop) / hop, mode="same"))
    spots: list[int] = []
    for idx in np.argsort(rms)[::-1]:
        if hop < idx < len(x) - hop and all(abs(idx - s) > RATE for s in spots):
            spots.append(int(idx))
        if len(spots) == count:
            return sorted(spots)
    raise AssertionError("no loud spots")


def test_clipping_and_dropouts_found_where_put(run_algorithm, tmp_path: Path) -> None:
    clean = speech.speech_clip(10, RATE)
    damaged = clean.copy()
    damaged[3 * RATE : 4 * RATE] = np.clip(damaged[3 * RATE : 4 * RATE] * 8, -1, 1)
    drops = [s for s in _loud_spots(clean, 4) if not 2.9 * RATE < s < 4.1 * RATE][:2]
    for s in drops:
        damaged[s : s + int(0.05 * RATE)] = 0.0

    report = aqa.analyse_channel(damaged, RATE)
    assert report.clipped_regions and all(a >= 2.99 and b <= 4.01 for a, b in report.clipped_regions)
    assert len(report.dropouts) == len(drops)
    for (a, b), s in zip(report.dropouts, drops, strict=True):
        assert a == pytest.approx(s / RATE, abs=0.005) and b == pytest.approx(s / RATE + 0.05, abs=0.005)

    sf.write(str(tmp_path / "clean.wav"), clean, RATE)
    sf.write(str(tmp_path / "damaged.wav"), damaged, RATE, subtype="FLOAT")
    good = _assess(run_algorithm, tmp_path / "clean.wav")[0]
    bad = _assess(run_algorithm, tmp_path / "damaged.wav")[0]
    assert float(good["Saturated Ratio(%)"]) == 0 and float(good["Bad Mute Ratio(%)"]) == 0
    assert float(bad["Saturated Ratio(%)"]) > 0.1
    assert float(bad["Bad Mute Ratio(%)"]) == pytest.approx(100 * 0.1 / 10, abs=0.05)
    assert float(bad["Discontinuity(0-5)"]) < float(good["Discontinuity(0-5)"])
    assert float(bad["MOS(0-5)"]) < float(good["MOS(0-5)"])


def test_speech_ratio_follows_where_speech_is(tmp_path: Path) -> None:
    talk = speech.speech_clip(4, RATE)
    audio = np.concatenate([np.zeros(3 * RATE), talk, np.zeros(3 * RATE)]).astype(np.float32)
    audio += 0.001 * noise.white(len(audio), seed=2)  # a faint floor, as in a real recording
    report = aqa.analyse_channel(audio, RATE)
    frame_s = aqa.VAD_FRAME / aqa.VAD_RATE
    times = np.flatnonzero(report.speech_mask) * frame_s
    inside = np.mean((times >= 2.9) & (times <= 7.1))
    assert inside >= 0.95, inside  # WebRTC VAD may flag a frame or two while it adapts
    assert 25 <= report.speech_ratio <= 40  # speech is 4 s of 10 s, with pauses inside


@pytest.mark.slow
def test_mos_orders_clean_denoised_noisy(run_algorithm, tmp_path: Path) -> None:
    clean = speech.speech_clip(8, RATE, first=3)
    noisy = noise.mix_at_snr(clean, noise.white(len(clean), seed=7), 5.0)
    cleaned = denoise(noisy[:, None], RATE, 2)[:, 0]
    scores = {}
    for name, audio in (("clean", clean), ("denoised", cleaned), ("noisy", noisy)):
        sf.write(str(tmp_path / f"{name}.wav"), audio, RATE)
        scores[name] = float(_assess(run_algorithm, tmp_path / f"{name}.wav")[0]["MOS(0-5)"])
    assert scores["clean"] > scores["denoised"] > scores["noisy"], scores


def test_stereo_compressed_input_and_double_talk(run_algorithm, tmp_path: Path) -> None:
    a = np.concatenate([speech.speech_clip(4, RATE), np.zeros(4 * RATE)])
    b = np.concatenate([np.zeros(2 * RATE), speech.speech_clip(6, RATE, voice="en-us+f3", first=5)])
    wav = tmp_path / "call.wav"
    sf.write(str(wav), np.stack([a, b], 1), RATE)
    m4a = tmp_path / "call.bin"  # AAC in MP4: decoded through PyAV, the extension says nothing
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "aac", "-b:a", "128k",
         "-f", "mp4", str(m4a)],
        check=True,
    )  # fmt: skip
    rows = _assess(run_algorithm, m4a)
    assert [r["Channel"] for r in rows] == ["1", "2"]
    # Channel 1 talks 0-4 s, channel 2 from 2 s: their overlap is about 2 s of each one's speech.
    assert 30 <= float(rows[0]["Double Talk Ratio(%)"]) <= 70
    assert 20 <= float(rows[1]["Double Talk Ratio(%)"]) <= 50
    assert float(rows[0]["Total Duration"]) == pytest.approx(8.0, abs=0.1)


def test_refuses_non_audio(run_algorithm, tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_text("hello")
    with pytest.raises(aqa.AlgorithmError, match="Input"):
        run_algorithm("AudioQualityAssessment", path)
