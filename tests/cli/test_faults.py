"""A DAG author's failure paths from the command line: ``airflow-iprod local start --fault-*`` and
``airflow-iprod submit`` against that engine, plus the submit flags TemplateId, Output.Biz, NotifyUrl
and ScheduleParams reaching the stored request.

The engines with faults run as real ``python -m airflow_iprod.local`` processes, found through their
``--ready-file``; the job commands run in-process through ``main([...])``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_iprod.cli import main
from airflow_iprod.cli.console import EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from airflow_iprod.local.config import FaultConfig
from tests.conftest import EngineHandle, oss_client_for, upload_to

ROOT = Path(__file__).resolve().parents[2]
DRILL = "the denoiser is on fire (fire drill)"
WAIT = ("--wait", "--poll", "0.2", "--timeout", "60")


class Engine(SimpleNamespace):
    proc: subprocess.Popen
    ready: Path
    info: dict[str, Any]
    out: Path
    err: Path

    def upload(self, data: Path, key: str) -> str:
        import alibabacloud_oss_v2 as oss

        extra = self.info["connection"]["extra"]
        handle = SimpleNamespace(
            access_key_id=extra["access_key_id"],
            access_key_secret=extra["access_key_secret"],
            region=extra["region"],
            endpoint=extra["endpoint"],
        )
        client = oss_client_for(handle)
        client.put_object(oss.PutObjectRequest(bucket="media", key=key, body=data.read_bytes()))
        return f"oss://media/{key}"

    def stop(self) -> tuple[str, str]:
        """Stop it (SIGTERM); its banner (stdout) and log (stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        return self.out.read_text(), self.err.read_text()


@pytest.fixture
def start_engine(tmp_path: Path) -> Iterator[Any]:
    started: list[Engine] = []

    def _start(*flags: str, name: str = "engine") -> Engine:
        ready, out, err = tmp_path / f"{name}.json", tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_iprod.local", "--port", "0", "--workers", "1",
                 "--data-dir", str(tmp_path / f"{name}-data"), "--ready-file", str(ready), *flags],
                stdout=stdout, stderr=stderr, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
            )  # fmt: skip
        engine = Engine(proc=proc, ready=ready, out=out, err=err, info={})
        started.append(engine)
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, f"the engine exited: {err.read_text()}"
            assert time.monotonic() < deadline, "no ready file within 60 s"
            time.sleep(0.1)
        engine.info = json.loads(ready.read_text())
        return engine

    yield _start
    for engine in started:
        if engine.proc.poll() is None:
            engine.proc.kill()
            engine.proc.wait(timeout=20)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_failed_job_fails_the_cli_and_other_functions_still_run(
    start_engine: Any, capsys: pytest.CaptureFixture[str], noisy_wav: Path
) -> None:
    engine = start_engine("--fault-fail-jobs", "SpeechDenoise", "--fault-fail-message", DRILL)
    assert engine.info["faults"] == {"fail_jobs": ["SpeechDenoise"], "fail_message": DRILL}
    url = engine.upload(noisy_wav, "drill/talk.wav")
    ready = ("--local-ready-file", str(engine.ready))

    code, out, err = _cli(
        capsys, "submit", "SpeechDenoise", "--input", url, "--output", "oss://media/drill/clean.wav",
        *ready, *WAIT,
    )  # fmt: skip
    assert code == EXIT_FAILED, err
    job = json.loads(out)
    assert job["Status"] == "Fail" and job["ErrorCode"] == "InjectedFault" and job["ErrorMessage"] == DRILL
    assert f"error: SpeechDenoise job {job['JobId']} failed: [InjectedFault] {DRILL}" in err

    # another FunctionName (MPS) runs for real on the same engine
    code, out, err = _cli(
        capsys, "submit", "TextToSpeech", "--api", "mps", "--params", '{"text": "All clear."}',
        "--output", "oss://media/drill/tts.wav", *ready, *WAIT,
    )  # fmt: skip
    assert code == 0, err
    tts = json.loads(out)
    assert tts["Status"] == "Success" and tts["Result"]["Duration"] > 0.3
    assert tts["Outputs"] == ["oss://media/drill/tts.wav"]  # listed through the object API: it is there

    banner, log = engine.stop()
    assert "FAULT INJECTION ON" in banner and "jobs of SpeechDenoise end in Fail" in banner
    assert "[iprod-faults] fault injection is ON" in log
    assert f"[iprod-faults] SpeechDenoise job {job['JobId']}: failed on purpose" in log
    assert tts["JobId"] not in log


@pytest.mark.slow
def test_wait_rides_out_failing_queries(
    start_engine: Any, capsys: pytest.CaptureFixture[str], noisy_wav: Path
) -> None:
    engine = start_engine("--fault-query-error-rate", "0.5", "--fault-seed", "1", "--fault-latency-ms", "20")
    assert engine.info["faults"] == {
        "latency_ms": 20.0,
        "query_error_rate": 0.5,
        "query_error_code": "ServiceUnavailable",
        "query_error_status": 503,
        "seed": 1,
    }
    url = engine.upload(noisy_wav, "flaky/talk.wav")
    code, out, err = _cli(
        capsys, "submit", "SpeechDenoise", "--input", url, "--output", "oss://media/flaky/clean.wav",
        "--local-ready-file", str(engine.ready), *WAIT,
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)
    assert job["Status"] == "Success" and job["Outputs"] == ["oss://media/flaky/clean.wav"]

    banner, log = engine.stop()
    assert "50% of Query calls answer ServiceUnavailable (HTTP 503), seed 1" in banner
    injected = log.count(f"Query JobId={job['JobId']}: answered ServiceUnavailable (HTTP 503) on purpose")
    assert injected >= 1, log  # the wait really met failing Queries and got past them


@pytest.mark.slow
def test_held_jobs_make_the_wait_time_out(start_engine: Any, capsys: pytest.CaptureFixture[str]) -> None:
    engine = start_engine("--fault-job-hold-s", "30")
    assert engine.info["faults"] == {"job_hold_s": 30.0}
    started = time.monotonic()
    code, out, err = _cli(
        capsys, "submit", "TextToSpeech", "--api", "mps", "--params", '{"text": "Too slow."}',
        "--output", "oss://media/slow/tts.wav", "--local-ready-file", str(engine.ready),
        "--wait", "--poll", "0.2", "--timeout", "1.5",
    )  # fmt: skip
    assert code == EXIT_TIMEOUT and out == "", err
    assert 1.4 < time.monotonic() - started < 10 and "after 1.5 s (--timeout)" in err
    banner, _ = engine.stop()
    assert "every job holds its worker 30 s before its algorithm starts" in banner


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--fault-query-error-rate", "1.5"], {},
         "--fault-query-error-rate='1.5' is not valid: a share from 0 to 1"),
        (["--fault-fail-jobs", "SpeechDenoise,speechdenoize"], {},
         "'speechdenoize' is not a FunctionName (did you mean SpeechDenoise?)"),
        (["--fault-fail-jobs", "*,ASR"], {}, "* alone"),
        (["--fault-latency-ms", "-5"], {}, "--fault-latency-ms='-5' is not valid: milliseconds from 0"),
        (["--fault-job-hold-s", "inf"], {}, "--fault-job-hold-s='inf' is not valid: seconds from 0 to 86400"),
        (["--fault-query-error-rate", "0.2", "--fault-query-error-status", "200"], {},
         "--fault-query-error-status='200' is not valid: an HTTP error status from 400 to 599"),
        (["--fault-query-error-rate", "0.2", "--fault-query-error-code", "Service Unavailable"], {},
         "an error code such as ServiceUnavailable"),
        (["--fault-seed", "7"], {}, "--fault-seed='7' only applies with --fault-query-error-rate"),
        ([], {"IPROD_LOCAL_FAULT_FAIL_MESSAGE": "boom"},
         "IPROD_LOCAL_FAULT_FAIL_MESSAGE='boom' only applies with --fault-fail-jobs"),
        ([], {"IPROD_LOCAL_FAULT_QUERY_ERROR_RATE": "half"},
         "IPROD_LOCAL_FAULT_QUERY_ERROR_RATE='half' is not valid"),
    ],
)  # fmt: skip
def test_bad_fault_values_stop_before_the_engine_starts(
    flags: list[str],
    env: dict[str, str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    code, out, err = _cli(capsys, "local", "start", "--port", "0", "--data-dir", str(data), *flags)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert not data.exists()  # nothing was started or created


def test_env_fallbacks_and_a_bad_flag_as_a_real_process(tmp_path: Path) -> None:
    from airflow_iprod.cli import build_parser
    from airflow_iprod.cli.faults import faults_from_args

    env = {
        "IPROD_LOCAL_FAULT_FAIL_JOBS": "ASR, VideoSplit",
        "IPROD_LOCAL_FAULT_QUERY_ERROR_RATE": "0.25",
        "IPROD_LOCAL_FAULT_QUERY_ERROR_CODE": "Throttling.User",
        "IPROD_LOCAL_FAULT_JOB_HOLD_S": "2.5",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        args = build_parser().parse_args(["local", "start", "--fault-query-error-rate", "0.75"])
        config = faults_from_args(args)  # the flag wins over its variable
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert config == FaultConfig(
        query_error_rate=0.75,
        query_error_code="Throttling.User",
        query_error_status=400,
        fail_jobs=frozenset({"ASR", "VideoSplit"}),
        job_latency_s=2.5,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_iprod.local", "--data-dir", str(tmp_path / "d"),
         "--fault-fail-jobs", "NoSuchThing"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--fault-fail-jobs='NoSuchThing' is not valid" in proc.stderr and "SpeechDenoise" in proc.stderr
    assert not (tmp_path / "d").exists()


@pytest.fixture
def parked(make_engine: Any, make_conn: Any, noisy_wav: Path) -> tuple[EngineHandle, str, str]:
    """An engine that fails every job at once (nothing runs: only the stored request matters)."""
    handle = make_engine(workers=1, faults=FaultConfig(fail_jobs=frozenset({"*"})))
    return handle, make_conn(handle, conn_id="iprod_fields"), upload_to(handle, noisy_wav, "f/talk.wav")


def _job_id(code: int, out: str, err: str) -> str:
    assert code == 0, err
    return out.strip()


def test_submit_flags_reach_the_request(
    capsys: pytest.CaptureFixture[str], parked: tuple[EngineHandle, str, str]
) -> None:
    handle, conn, url = parked
    ice = ("SpeechDenoise", "--input", url, "--output", "oss://media/f/out.wav", "--conn-id", conn)
    job_id = _job_id(*_cli(capsys, "submit", *ice, "--template-id", "tmpl-denoise-1", "--biz", "VOD"))
    request = handle.engine.jobs.get(job_id).request
    assert request["TemplateId"] == "tmpl-denoise-1" and request["Output"]["Biz"] == "VOD"

    queue = "mns://1234567890.mns.cn-shanghai.aliyuncs.com/queues/dag-events"
    mps = ("TextToSpeech", "--api", "mps", "--params", '{"text": "hi"}', "--output", "oss://media/f/t.wav")
    job_id = _job_id(
        *_cli(capsys, "submit", *mps, "--conn-id", conn, "--notify-url", queue,
              "--schedule-params", '{"Priority": 3}')
    )  # fmt: skip
    job = handle.engine.jobs.get(job_id)
    assert job.request["NotifyUrl"] == queue and json.loads(job.request["ScheduleParams"]) == {"Priority": 3}
    assert job.priority == 3  # the engine honours a Priority in ScheduleParams


def test_bad_submit_flags_exit_2_and_send_nothing(
    capsys: pytest.CaptureFixture[str], parked: tuple[EngineHandle, str, str], tmp_path: Path
) -> None:
    handle, conn, url = parked
    ice = ("SpeechDenoise", "--input", url, "--output", "oss://media/f/out.wav", "--conn-id", conn)
    mps = ("TextToSpeech", "--api", "mps", "--params", '{"text": "hi"}', "--output", "oss://media/f/t.wav")
    mps += ("--conn-id", conn)
    sched = tmp_path / "sched.json"
    sched.write_text("[3]")
    cases = [
        ((*ice, "--biz", "YouTube"), "--biz: Output.Biz='YouTube' is not valid: IMS or VOD"),
        ((*ice, "--template-id", "t" * 129), "--template-id: TemplateId="),
        ((*ice, "--notify-url", "mns://x/queues/q"),
         "--notify-url: NotifyUrl='mns://x/queues/q' is not valid: MPS"),
        ((*ice, "--schedule-params", "{}"), "--schedule-params: ScheduleParams='{}' is not valid: MPS"),
        ((*mps, "--template-id", "tmpl"), "--template-id: TemplateId='tmpl' is not valid: ICE only"),
        ((*mps, "--biz", "IMS"), "--biz: Output.Biz='IMS' is not valid: ICE only"),
        ((*mps, "--notify-url", "https://example.com/hook"),
         "--notify-url: NotifyUrl='https://example.com/hook' is not valid: an MNS queue"),
        ((*mps, "--schedule-params", "Priority=3"),
         "--schedule-params: ScheduleParams='Priority=3' is not valid: a JSON object"),
        ((*mps, "--schedule-params", f"@{sched}"),
         "--schedule-params: ScheduleParams='[3]' is not valid: a JSON object"),
        ((*mps, "--schedule-params", '{"Priority": 11}'),
         "--schedule-params: ScheduleParams.Priority=11 is not valid: an integer from 1 to 10"),
        ((*mps, "--schedule-params", "@/no/such.json"), "--schedule-params=@/no/such.json: cannot read"),
    ]  # fmt: skip
    before = handle.engine.jobs.count()
    for argv, message in cases:
        code, out, err = _cli(capsys, "submit", *argv)
        assert (code, out) == (EXIT_USAGE, ""), (argv, err)
        assert message in err, (argv, err)
    assert handle.engine.jobs.count() == before
