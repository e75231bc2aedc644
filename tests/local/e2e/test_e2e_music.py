"""Music algorithms end to end through the SDKs: AudioBeatDetection and MusicSegmentDetect (one API
each here, the other API too), MusicDemix (ICE, {resultType}), on generated songs with known beats,
choruses and stems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.local.algorithms.test_music_segment_detect import span_iou
from tests.local.e2e.conftest import needs
from tests.mediagen.metrics import snr
from tests.mediagen.music import beat_song, stereo_song, verse_chorus_song

pytestmark = pytest.mark.slow

BEAT_TOLERANCE = 0.07  # seconds either side, as in the direct test


@pytest.fixture(scope="module")
def submitted(jobs: Any, upload: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("e2e-music")
    out: dict[str, Any] = {}
    # Demix first: the longest job starts first.
    song = stereo_song(seconds=10, sr=22050, seed=5)
    url = upload(song.write(tmp / "duet.wav"), "e2e/music/in/duet.wav")
    out["demix"] = (
        jobs.submit("ice", "MusicDemix", url, "oss://media/e2e/music/demix/{resultType}/{source}-{resultType}.wav"),
        song,
    )  # fmt: skip
    chorus = verse_chorus_song(120, seed=1)
    url = upload(chorus.write(tmp / "pop-song.wav"), "e2e/music/in/pop-song.wav")
    for api in ("mts", "ice"):
        out[f"segments-{api}"] = (
            jobs.submit(api, "MusicSegmentDetect", url, f"oss://media/e2e/music/seg-{api}/{{source}}.json"),
            chorus,
        )
    for api, bpm in (("ice", 118), ("mts", 139)):
        beats = beat_song(bpm, seconds=12, seed=bpm, jitter=0.01)
        url = upload(beats.write(tmp / f"drums{bpm}.wav"), f"e2e/music/in/drums{bpm}.wav")
        job = jobs.submit(
            api, "AudioBeatDetection", url, f"oss://media/e2e/music/beats-{api}/{{source}}-{{timestamp}}.json"
        )
        out[f"beats-{api}"] = (job, beats)  # fmt: skip
    return out


def _json_result(jobs: Any, job: Any, tmp_path: Path) -> Any:
    """Wait for ``job``: its one output is a JSON file holding the same Result as the Query answer."""
    path = jobs.only_output(job, tmp_path)
    assert path.suffix == ".json"
    assert json.loads(path.read_text(encoding="utf-8")) == job.result
    return job.result


@needs("AudioBeatDetection")
@pytest.mark.parametrize("api", ["ice", "mts"])
def test_beat_detection_f1(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    import mir_eval

    job, song = submitted[f"beats-{api}"]
    result = _json_result(jobs, job, tmp_path)
    assert set(result) == {"BeatList", "DownBeatList"}
    beat_f = mir_eval.beat.f_measure(song.beats, np.array(result["BeatList"]), BEAT_TOLERANCE)
    down_f = mir_eval.beat.f_measure(song.downbeats, np.array(result["DownBeatList"]), BEAT_TOLERANCE)
    print(f"E2E AudioBeatDetection ({api}): beat F1 {beat_f:.3f}, downbeat F1 {down_f:.3f}")
    assert beat_f >= 0.95
    assert down_f >= 0.85


@needs("MusicSegmentDetect")
@pytest.mark.parametrize("api", ["mts", "ice"])
def test_music_segment_chorus_iou(jobs: Any, submitted: dict, tmp_path: Path, api: str) -> None:
    job, song = submitted[f"segments-{api}"]
    # its output's URL is oss://media/e2e/music/seg-{api}/pop-song.json: the template has only {source}
    result = _json_result(jobs, job, tmp_path)
    assert isinstance(result, list) and result
    assert all(set(s) == {"start", "end", "title"} and s["title"] == "副歌" for s in result)
    iou = span_iou([(s["start"], s["end"]) for s in result], song.choruses)
    print(f"E2E MusicSegmentDetect ({api}): {len(result)} choruses, IoU {iou:.3f}")
    assert len(result) == len(song.choruses)
    assert iou >= 0.7


@needs("MusicDemix")
def test_music_demix_vocal_gain(jobs: Any, submitted: dict, tmp_path: Path) -> None:
    job, song = submitted["demix"]
    jobs.wait(job)
    assert job.result == {}
    urls = jobs.outputs(job)
    assert sorted(urls) == [
        "oss://media/e2e/music/demix/accompaniment/duet-accompaniment.wav",
        "oss://media/e2e/music/demix/vocals/duet-vocals.wav",
    ]
    stems = {}
    for url in urls:
        kind = url.rsplit("-", 1)[-1].removesuffix(".wav")
        audio, rate = sf.read(jobs.download(url, tmp_path / f"{kind}.wav"), dtype="float32", always_2d=True)
        assert rate == song.sr
        stems[kind] = audio.T
    truth_v = song.stems["vocals"]
    gain = snr(truth_v, stems["vocals"]) - snr(truth_v, song.audio)
    print(f"E2E MusicDemix: vocal SDR improvement {gain:.2f} dB")
    assert gain >= 3.0
    assert np.max(np.abs(stems["vocals"] + stems["accompaniment"] - song.audio)) < 1e-3
