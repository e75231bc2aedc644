"""Airflow's own CLI sees the provider's config options and tests an ``iprod`` connection against the local
engine (real ``airflow`` processes, in the tests' Airflow environment from tests/airflow_env.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from typing import Any

import pytest

from tests.airflow_env import connection_json


def _airflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture(autouse=True)
def _installed() -> None:
    try:
        metadata.distribution("airflow-iprod")
    except metadata.PackageNotFoundError:
        pytest.skip("airflow-iprod is not pip-installed (pip install -e .): Airflow cannot discover it")


def test_config_get_value_knows_our_options_without_a_warning() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__IPROD__")}
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "get-value", "iprod", "query_qps"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "20"  # the provider's declared default, as configured_qps() falls back to
    assert "warn" not in (out.stdout + out.stderr).lower(), out.stderr


def test_connections_test_against_the_engine(local_engine: Any) -> None:
    """Success over the CLI; the failures (bad secret, unknown key, unreachable) are covered in-process
    by tests/hooks/test_connection_test.py, through the same Connection.test_connection()."""
    conn = {**json.loads(connection_json(local_engine)), "conn_type": "iprod"}
    out = _airflow(
        "connections",
        "test",
        "iprod_cli",
        AIRFLOW_CONN_IPROD_CLI=json.dumps(conn),
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",  # Airflow disables connection tests by default
    )
    logged = out.stdout + out.stderr
    assert out.returncode == 0, logged
    assert "Connection success!" in logged
    assert local_engine.access_key_secret not in logged
