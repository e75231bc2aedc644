"""``airflow-iprod local start --ready-file``: scripts (scripts/demo.sh) learn the engine's port and keys
from a JSON file that appears only once the engine answers, readable by the user alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ready_file_holds_a_working_connection(tmp_path: Path) -> None:
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    ready = tmp_path / "state" / "engine.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_iprod.local", "--port", "0", "--workers", "1",
         "--data-dir", str(tmp_path / "data"), "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the engine exited before it was ready"
            assert time.monotonic() < deadline, "no ready file within 60 s"
            time.sleep(0.1)
        assert ready.stat().st_mode & 0o077 == 0  # it holds the secret
        info = json.loads(ready.read_text())
        extra = info["connection"]["extra"]
        assert info["connection"]["conn_type"] == "iprod"
        assert extra["endpoint"] == info["endpoint"] and extra["protocol"] == "http"
        assert not info["endpoint"].endswith(":0")  # the port actually bound
        config = Config(
            access_key_id=extra["access_key_id"],
            access_key_secret=extra["access_key_secret"],
            endpoint=info["endpoint"],
            protocol="http",
            region_id=extra["region"],
        )
        client = Client(config)
        with pytest.raises(ClientException) as err:  # the keys work: a signed query reaches the job store
            client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id="nothing"))
        assert err.value.code == "NotFound"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
