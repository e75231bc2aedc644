"""Engine parts that are easiest to pin down directly: throttle buckets, nonce memory, input sniffing,
the job store's queue order and restart recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_iprod import catalog
from airflow_iprod.local import input_check
from airflow_iprod.local.job_store import ANALYZING, FAIL, QUEUING, SUCCESS, Job, JobStore, iso_time
from airflow_iprod.local.rpc_signing import NonceCache, parse_timestamp
from airflow_iprod.local.throttle import Throttle
from tests.local.wavgen import noisy_tone_wav


def test_throttle_allows_the_rate_then_refills() -> None:
    now = [100.0]
    throttle = Throttle(lambda action: 5.0 if action == "Query" else 0.0, clock=lambda: now[0])
    assert [throttle.allow("Query") for _ in range(7)] == [True] * 5 + [False] * 2
    assert all(throttle.allow("Submit") for _ in range(1000))  # rate 0: no limit
    now[0] += 0.2  # one token back at 5/s
    assert throttle.allow("Query") and not throttle.allow("Query")


def test_nonce_cache_remembers_until_ttl() -> None:
    cache = NonceCache(ttl_s=60)
    assert cache.use("ak", "n1", now=0)
    assert not cache.use("ak", "n1", now=30)
    assert cache.use("other-key", "n1", now=30)  # per access key
    assert cache.use("ak", "n1", now=61)


def test_timestamp_parsing() -> None:
    assert parse_timestamp("1970-01-01T00:01:00Z") == 60
    with pytest.raises(Exception, match="not well formatted"):
        parse_timestamp("yesterday")
    assert iso_time(60) == "1970-01-01T00:01:00Z"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "mp4"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00", "m4a"),
        (b"\x1a\x45\xdf\xa3\x00webm", "webm"),
        (b"ID3\x03\x00\x00", "mp3"),
        (b"fLaC\x00\x00", "flac"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"GIF89a", "gif"),
        (b"hello there", None),
    ],
)
def test_sniff(head: bytes, fmt: str | None) -> None:
    assert input_check.sniff(head) == fmt


def test_wav_rate_and_speech_denoise_rule(tmp_path: Path) -> None:
    spec = catalog.spec_for("SpeechDenoise", "ice")
    ok, bad = tmp_path / "ok.wav", tmp_path / "bad.wav"
    ok.write_bytes(noisy_tone_wav(0.1, rate=48000))
    bad.write_bytes(noisy_tone_wav(0.1, rate=8000))
    assert input_check.wav_sample_rate(ok) == 48000
    assert input_check.check_input(spec, ok, "oss://b/ok.wav") == "wav"
    with pytest.raises(input_check.InputProblem, match=r"Input.Media='oss://b/bad.wav' is a WAV at 8000 Hz"):
        input_check.check_input(spec, bad, "oss://b/bad.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(input_check.InputProblem, match="empty"):
        input_check.check_input(spec, empty, "oss://b/empty.wav")


def _job(job_id: str, priority: int, pipeline: str = "default") -> Job:
    return Job(
        job_id=job_id, api="ice", function_name="SpeechDenoise", request={}, params={}, input_url="oss://b/k.wav",
        output_template="oss://b/o.wav", pipeline_id=pipeline, priority=priority,
    )  # fmt: skip


def test_job_store_order_and_recovery(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    for job_id, prio in [("a", 6), ("b", 2), ("c", 6), ("d", 1)]:
        store.add(_job(job_id, prio))
    assert [j.job_id for j in store.queued()] == ["d", "b", "a", "c"]
    assert store.mark_running("d") and not store.mark_running("d")
    assert store.finish("b", FAIL, code="Cancelled", message="x")
    assert not store.finish("b", SUCCESS)  # an outcome is recorded once
    store.close()

    reopened = JobStore(tmp_path / "jobs.sqlite")  # as after a restart
    assert reopened.get("d").status == ANALYZING
    assert reopened.requeue_interrupted() == ["d"]
    assert reopened.get("d").status == QUEUING and reopened.get("d").attempts == 1
    assert [j.job_id for j in reopened.queued()] == ["d", "a", "c"]
    assert reopened.get("b").status == FAIL and reopened.get("b").code == "Cancelled"
