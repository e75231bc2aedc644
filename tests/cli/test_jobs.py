"""``airflow-iprod submit | query | cancel`` against the local engine over real HTTP.

In-process through ``main([...])`` with an ``AIRFLOW_CONN_*`` connection (no metadata database), and
as the installed ``airflow-iprod`` script with ``--local-ready-file`` (the file ``local start``
writes) and with a fresh, unconfigured Airflow home.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from airflow_iprod.cli import main
from airflow_iprod.cli.connection import DEFAULT_CONN_ID
from airflow_iprod.cli.console import EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from airflow_iprod.cli.local import connection_info, write_ready_file
from airflow_iprod.local.config import Credential, FaultConfig
from tests.conftest import TEST_KEY_ID, TEST_KEY_SECRET, EngineHandle, upload_to
from tests.mediagen.noise import mix_at_snr, white
from tests.mediagen.speech import speak

SCRIPT = Path(sys.executable).with_name("airflow-iprod")
HOLD_S = 60.0  # held jobs stay Queuing/Analyzing for the whole test


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    for text in (out, err):  # keys are never printed
        assert TEST_KEY_SECRET not in text and TEST_KEY_ID not in text
    return code, out, err


def _noisy_speech(path: Path) -> Path:
    clean = speak("Please send the quarterly report to the finance team before Friday.", rate=16000)
    sf.write(path, mix_at_snr(clean, white(len(clean), seed=3), 5.0), 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def noisy_url(local_engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> str:
    return upload_to(
        local_engine, _noisy_speech(tmp_path_factory.mktemp("cli") / "noisy.wav"), "cli/noisy.wav"
    )


@pytest.fixture
def conn(local_engine: EngineHandle, make_conn: Any) -> str:
    return make_conn(local_engine, conn_id="iprod_cli")


def test_help_says_a_wait_never_cancels(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "On a timeout or Ctrl-C the job is NOT cancelled" in text and "--cancel-on-exit" in text


def test_default_conn_id_is_the_hooks() -> None:
    from airflow_iprod.hooks.iproduction import IProductionHook

    assert IProductionHook.default_conn_name == DEFAULT_CONN_ID


def test_submit_wait_then_query_speech_denoise(
    capsys: pytest.CaptureFixture[str], local_engine: EngineHandle, conn: str, noisy_url: str
) -> None:
    code, out, err = _cli(
        capsys, "submit", "SpeechDenoise", "--input", noisy_url, "--output", "oss://media/cli/out/{source}-clean.wav",
        "--user-data", "from-the-cli", "--conn-id", conn, "--wait", "--poll", "0.2", "--timeout", "60",
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)
    assert job["Status"] == "Success" and job["FunctionName"] == "SpeechDenoise" and job["Api"] == "ice"
    assert job["Output"] == "oss://media/cli/out/noisy-clean.wav" and job["UserData"] == "from-the-cli"
    assert f"submitted SpeechDenoise job {job['JobId']} (ICE)" in err
    # the file is really in the engine's object store: a 16 kHz WAV as long as the input
    path = local_engine.engine.objects.path_for("media", "cli/out/noisy-clean.wav")
    audio, rate = sf.read(path)
    noisy, _ = sf.read(local_engine.engine.objects.path_for("media", "cli/noisy.wav"))
    assert rate == 16000 and abs(len(audio) - len(noisy)) <= 160
    assert np.std(audio) > 0.01  # not silence

    code, out, _ = _cli(capsys, "query", job["JobId"], "--conn-id", conn)
    assert code == 0
    again = json.loads(out)
    assert again["JobId"] == job["JobId"] and again["Status"] == "Success"
    assert again["Outputs"] == ["oss://media/cli/out/noisy-clean.wav"] and again["FinishTime"]

    # a job of the ICE API is not found through MPS: exit 1 and a hint
    code, out, err = _cli(capsys, "query", job["JobId"], "--conn-id", conn, "--api", "mps")
    assert code == EXIT_FAILED and out == "" and "NotFound" in err and "try --api ice" in err


def test_bad_input_exits_2_and_creates_no_job(
    capsys: pytest.CaptureFixture[str], local_engine: EngineHandle, conn: str, noisy_url: str, tmp_path: Path
) -> None:
    before = local_engine.engine.jobs.count()
    base = ["--input", "oss://media/cli/clip.mp4", "--output", "oss://media/cli/out/c.srt", "--conn-id", conn]
    code, out, err = _cli(capsys, "submit", "CaptionExtraction", *base, "--params", '{"fps": 50}')
    assert (code, out) == (EXIT_USAGE, "")
    assert "--params: JobParams.fps=50 is not valid: a value in [2, 10]" in err

    params = tmp_path / "params.json"
    params.write_text('{"lang": "fr"}')
    code, _, err = _cli(capsys, "submit", "CaptionExtraction", *base, "--params", f"@{params}")
    assert code == EXIT_USAGE and "JobParams.lang='fr' is not valid: one of ['ch', 'en', 'ch_ml']" in err

    code, _, err = _cli(capsys, "submit", "SpeechDenoise", "--input", noisy_url, "--conn-id", conn)
    assert code == EXIT_USAGE and "--output: Output.Media=None" in err

    code, _, err = _cli(capsys, "submit", "TextToSpeech", *base)
    assert code == EXIT_USAGE and "FunctionName='TextToSpeech'" in err and "only in the MTS API" in err

    code, _, err = _cli(capsys, "submit", "CaptionExtraction", *base, "--priority", "0")
    assert code == EXIT_USAGE and "--priority: ScheduleConfig.Priority='0'" in err

    code, _, err = _cli(capsys, "submit", "CaptionExtraction", *base[:4], "--conn-id", "iprod_nowhere")
    assert code == EXIT_USAGE and "--conn-id=iprod_nowhere" in err and "AIRFLOW_CONN_IPROD_NOWHERE" in err
    assert local_engine.engine.jobs.count() == before


CLI_BAD_VALUES = [
    # (id, extra argv, the flag and field the message must lead with)
    ("output-dotdot", ["--output", "oss://media/cli/../c.srt"], "--output: Output.Media="),
    ("output-nul", ["--output", "oss://media/cli/a\x00.srt"], "--output: Output.Media="),
    ("output-too-long", ["--output", "oss://media/" + "k" * 2000 + ".srt"], "--output: Output.Media="),
    ("output-extension", ["--output", "oss://media/cli/c.mp4"], "--output: Output.Media="),
    ("unbalanced-placeholder", ["--output", "oss://media/cli/{source.srt"], "--output: Output.Media="),
    ("input-dotdot", ["--input", "oss://media/./a.mp4"], "--input: Input.Media="),
    ("fps-text", ["--params", '{"fps": "5"}'], "--params: JobParams.fps="),
    ("deep-json", ["--params", '{"fps": ' + "[" * 3000 + "]" * 3000 + "}"], "--params: JobParams="),
    ("huge-number", ["--params", '{"fps": 1e400}'], "--params: JobParams.fps="),
    ("priority-text", ["--priority", "x"], "--priority: ScheduleConfig.Priority="),
    ("pipeline-too-long", ["--pipeline-id", "p" * 200], "--pipeline-id: ScheduleConfig.PipelineId="),
]


@pytest.mark.parametrize(("extra", "lead"), [pytest.param(*c[1:], id=c[0]) for c in CLI_BAD_VALUES])
def test_every_bad_value_exits_2_naming_its_flag(capsys: pytest.CaptureFixture[str], extra: list[str],
                                                 lead: str) -> None:  # fmt: skip
    """Refused before any connection is looked up: the connection named here does not exist."""
    base = ["--input", "oss://media/cli/clip.mp4", "--output", "oss://media/cli/out/c.srt"]
    code, out, err = _cli(capsys, "submit", "CaptionExtraction", *base, *extra, "--conn-id", "iprod_nowhere")
    assert (code, out) == (EXIT_USAGE, "") and err.startswith(f"error: {lead}"), err
    assert "Traceback" not in err


def test_a_params_file_that_is_not_utf8_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_bytes(b"\xff\xfe{}")
    argv = ["--input", "oss://media/a.mp4", "--output", "oss://media/c.srt", "--params", f"@{params}"]
    code, _, err = _cli(capsys, "submit", "CaptionExtraction", *argv, "--conn-id", "iprod_nowhere")
    assert code == EXIT_USAGE and "not UTF-8" in err


def test_mps_text_to_speech(
    capsys: pytest.CaptureFixture[str], local_engine: EngineHandle, conn: str
) -> None:
    params = json.dumps({"text": "Hello from the command line."})
    code, out, err = _cli(
        capsys, "submit", "TextToSpeech", "--api", "mps", "--params", params,
        "--output", "oss://media/cli/tts/hello.wav", "--conn-id", conn, "--wait", "--poll", "0.2",
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)
    assert job["Api"] == "mts" and job["Status"] == "Success" and job["RawStatus"] == "Success"
    assert job["Result"]["Duration"] > 0.5
    assert job["Outputs"] == ["oss://media/cli/tts/hello.wav"]  # found by listing: MPS lists no files
    audio, rate = sf.read(local_engine.engine.objects.path_for("media", "cli/tts/hello.wav"))
    assert len(audio) / rate == pytest.approx(job["Result"]["Duration"], abs=0.1)


@pytest.fixture
def held(make_engine: Any, make_conn: Any) -> tuple[EngineHandle, str, str]:
    """An engine whose jobs stay queued/running for HOLD_S, its connection id and an uploaded WAV."""
    handle = make_engine(workers=1, faults=FaultConfig(job_latency_s=HOLD_S))
    url = upload_to(handle, _noisy_speech_bytes(), "held/in.wav")
    return handle, make_conn(handle, conn_id="iprod_held"), url


def _noisy_speech_bytes() -> bytes:
    import io

    clean = speak("Remember to switch off the lights.", rate=16000)
    buf = io.BytesIO()
    sf.write(buf, mix_at_snr(clean, white(len(clean)), 10.0), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _submit_held(capsys: pytest.CaptureFixture[str], conn: str, url: str) -> str:
    code, out, err = _cli(
        capsys,
        "submit",
        "SpeechDenoise",
        "--input",
        url,
        "--output",
        "oss://media/held/out.wav",
        "--conn-id",
        conn,
    )
    assert code == 0, err
    return out.strip()


def test_cancel_a_held_job(capsys: pytest.CaptureFixture[str], held: tuple[EngineHandle, str, str]) -> None:
    handle, conn, url = held
    job_id = _submit_held(capsys, conn, url)
    assert len(job_id) == 32 and handle.engine.jobs.get(job_id).status in ("Queuing", "Analyzing")

    code, out, err = _cli(capsys, "cancel", job_id, "--api", "mps", "--conn-id", conn)
    assert (code, out) == (EXIT_USAGE, "")
    assert "--api=mps: the MPS API has no CancelIProductionJob" in err
    assert handle.engine.jobs.get(job_id).status in ("Queuing", "Analyzing")

    code, out, err = _cli(capsys, "cancel", job_id, "--conn-id", conn)
    assert code == 0, err
    job = json.loads(out)
    assert job["Status"] == "Fail" and job["ErrorCode"] == "Cancelled"
    assert handle.engine.jobs.get(job_id).status == "Fail"

    # a cancelled job waited on reports the failure: exit 1, the service's message on stderr
    code, out, err = _cli(capsys, "query", job_id, "--conn-id", conn, "--wait", "--poll", "0.2")
    assert code == EXIT_FAILED and json.loads(out)["Status"] == "Fail"
    assert f"SpeechDenoise job {job_id} failed: [Cancelled]" in err


def test_wait_timeout_leaves_the_job_running(
    capsys: pytest.CaptureFixture[str], held: tuple[EngineHandle, str, str]
) -> None:
    handle, conn, url = held
    started = time.monotonic()
    code, out, err = _cli(
        capsys, "submit", "SpeechDenoise", "--input", url, "--output", "oss://media/held/out.wav",
        "--conn-id", conn, "--wait", "--timeout", "1.5", "--poll", "0.3",
    )  # fmt: skip
    assert code == EXIT_TIMEOUT and out == ""
    assert 1.4 < time.monotonic() - started < 10
    job_id = err.split("submitted SpeechDenoise job ", 1)[1].split()[0]
    assert "keeps running" in err and f"airflow-iprod cancel {job_id}" in err
    time.sleep(0.5)  # a cancel would have landed by now
    assert handle.engine.jobs.get(job_id).status in ("Queuing", "Analyzing")
    code, out, _ = _cli(capsys, "query", job_id, "--conn-id", conn)
    assert code == 0 and json.loads(out)["Status"] in ("Queuing", "Analyzing")

    # --cancel-on-exit does cancel on timeout
    code, out, err = _cli(
        capsys, "query", job_id, "--conn-id", conn, "--wait", "--timeout", "0.5", "--cancel-on-exit"
    )
    assert code == EXIT_TIMEOUT and "cancelled it (--cancel-on-exit)" in err
    assert handle.engine.jobs.get(job_id).status == "Fail"


def _fresh_env(home: Path) -> dict[str, str]:
    """No Airflow config at all: a new home and a database path that cannot exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/no/such/dir/airflow.db"
    return env


def _ready_file(handle: EngineHandle, path: Path) -> dict[str, object]:
    """Written by the function `airflow-iprod local start --ready-file` uses."""
    cred = Credential(handle.access_key_id, handle.access_key_secret)
    info = connection_info(handle.endpoint, cred.access_key_id, cred.access_key_secret, handle.region)
    write_ready_file(path, handle.endpoint, cred, handle.region, info)
    return info


@pytest.mark.slow
def test_installed_script_with_a_ready_file(
    local_engine: EngineHandle, noisy_url: str, tmp_path: Path
) -> None:
    assert SCRIPT.exists(), SCRIPT
    ready = tmp_path / "engine.json"
    cred = Credential(local_engine.access_key_id, local_engine.access_key_secret)
    info = connection_info(
        local_engine.endpoint, cred.access_key_id, cred.access_key_secret, local_engine.region
    )
    write_ready_file(
        ready, local_engine.endpoint, cred, local_engine.region, info
    )  # what `local start` writes
    env = _fresh_env(tmp_path / "home")
    proc = subprocess.run(
        [str(SCRIPT), "submit", "SpeechDenoise", "--input", noisy_url, "--output", "oss://media/cli/script.wav",
         "--local-ready-file", str(ready), "--wait", "--poll", "0.2", "--timeout", "60"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert TEST_KEY_SECRET not in proc.stdout + proc.stderr and TEST_KEY_ID not in proc.stdout + proc.stderr
    job = json.loads(proc.stdout)
    assert job["Status"] == "Success" and job["Output"] == "oss://media/cli/script.wav"
    assert local_engine.engine.objects.head("media", "cli/script.wav").size > 1000

    # the same job by id through an AIRFLOW_CONN_* variable: the Task SDK reads it without any database
    env["AIRFLOW_CONN_IPROD_ENV"] = json.dumps({"conn_type": "alibaba_cloud", "extra": info["extra"]})
    proc = subprocess.run(
        [str(SCRIPT), "query", job["JobId"], "--conn-id", "iprod_env"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Outputs"] == ["oss://media/cli/script.wav"]
    assert not (tmp_path / "home" / "no").exists()


@pytest.mark.slow
def test_ctrl_c_leaves_the_job_running(held: tuple[EngineHandle, str, str], tmp_path: Path) -> None:
    handle, _, url = held
    ready = tmp_path / "engine.json"
    _ready_file(handle, ready)
    proc = subprocess.Popen(
        [str(SCRIPT), "submit", "SpeechDenoise", "--input", url, "--output", "oss://media/held/ctrl-c.wav",
         "--local-ready-file", str(ready), "--wait", "--poll", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_fresh_env(tmp_path / "home"),
    )  # fmt: skip
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        while line and "submitted SpeechDenoise job" not in line:
            line = proc.stderr.readline()  # type: ignore[union-attr]
        job_id = line.split("submitted SpeechDenoise job ", 1)[1].split()[0]
        time.sleep(0.5)  # polling now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and out == ""
    assert "interrupted; it keeps running" in err
    time.sleep(0.5)
    assert handle.engine.jobs.get(job_id).status in ("Queuing", "Analyzing")
