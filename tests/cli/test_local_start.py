"""``airflow-iprod local start`` as a real process: prints the endpoint, the key id and where the secret
and the Airflow connection are (mode-600 files, never the secret itself), keeps a generated key pair in
the data dir, takes keys from the environment, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, **env: str) -> tuple[subprocess.Popen, dict[str, Any]]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_iprod.local",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=ROOT,
    )
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    text = "".join(lines)
    conn_file = Path(re.search(r"secret included, in (\S+) \(mode 600\)", text).group(1))
    assert conn_file.stat().st_mode & 0o077 == 0  # it holds the secret: private to the user
    assert f'export AIRFLOW_CONN_ALIBABACLOUD_DEFAULT="$(cat {conn_file})"' in text
    extra = json.loads(conn_file.read_text())["extra"]
    info = {
        "endpoint": re.search(r"listening on http://(\S+)", text).group(1),
        "key_id": re.search(r"access key id:\s+(\S+)", text).group(1),
        "secret": extra["access_key_secret"],
        "extra": extra,
        "banner": text,
    }
    assert info["secret"] not in text  # the banner says where the secret is, never what it is
    return proc, info


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped." in out


def _query_answers(info: dict[str, Any], secret: str | None = None) -> str:
    client = Client(Config(access_key_id=info["key_id"], access_key_secret=secret or info["secret"],
                           endpoint=info["endpoint"], protocol="http", region_id="cn-shanghai"))  # fmt: skip
    with pytest.raises(ClientException) as err:
        client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id="nothing"))
    return err.value.code


@pytest.mark.slow
def test_local_start_prints_what_to_use_and_keeps_its_key(tmp_path: Path) -> None:
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    proc, info = _start(tmp_path / "data")
    try:
        assert _query_answers(info) == "NotFound"  # the printed key works
        assert _query_answers(info, secret="wrong") == "SignatureDoesNotMatch"
        assert "credentials.json (mode 600)" in info["banner"]
        extra = info["extra"]
        assert extra == {
            "access_key_id": info["key_id"], "access_key_secret": info["secret"],
            "endpoint": info["endpoint"], "protocol": "http", "region": "cn-shanghai",
        }  # fmt: skip
    finally:
        _stop(proc)
    stored = json.loads((tmp_path / "data" / "credentials.json").read_text())
    assert stored["access_key_id"] == info["key_id"]
    assert (tmp_path / "data" / "credentials.json").stat().st_mode & 0o077 == 0  # private to the user

    proc, again = _start(tmp_path / "data")  # the same key on the next start
    try:
        assert again["key_id"] == info["key_id"] and again["secret"] == info["secret"]
    finally:
        _stop(proc)

    proc, chosen = _start(
        tmp_path / "other", IPROD_LOCAL_ACCESS_KEY_ID="LTAIchosen", IPROD_LOCAL_ACCESS_KEY_SECRET="s3-chosen"
    )
    try:
        assert (chosen["key_id"], chosen["secret"]) == ("LTAIchosen", "s3-chosen")
        assert "the one given" in chosen["banner"]
        assert _query_answers(chosen) == "NotFound"
    finally:
        _stop(proc)


def test_pipeline_flags_name_the_pipelines_jobs_may_use() -> None:
    from airflow_iprod.cli.local import parse_pipelines

    assert parse_pipelines(["pipe-a", " bulk=2 ", ""]) == {"pipe-a": 10, "bulk": 2}
    for bad in ("=3", "x=0", "x=two", "p" * 129):
        with pytest.raises(ValueError, match="--pipeline="):
            parse_pipelines([bad])
