"""Airflow for the tests: a throwaway AIRFLOW_HOME with a migrated SQLite DB, and connections (as
``AIRFLOW_CONN_*`` environment variables) pointing at local engines.

The environment is set when this module is imported, before anything imports Airflow's config: the
root ``tests/conftest.py`` imports it first and re-exports its fixtures to every test directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
_HOME = Path(os.environ.get("IPROD_TEST_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="iprod-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
# dag.test() in 3.3 runs DAGs found in a bundle: the example DAGs and the tests' own DAGs
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (("iprod-examples", REPO / "dags"), ("iprod-tests", REPO / "tests/dag_files"))
    ]
)
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ.setdefault("IPROD_POLL_INTERVAL", "0.3")  # the example DAGs' poll; engine jobs take seconds
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
if "airflow.configuration" in sys.modules:  # pragma: no cover - a guard against import-order surprises
    raise RuntimeError("Airflow was configured before tests/airflow_env.py could set AIRFLOW_HOME")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """``airflow db migrate`` once per session (in a subprocess: the same env, a clean interpreter)."""
    marker = _HOME / ".migrated"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        marker.touch()
    return _HOME


def connection_json(handle: Any, **extra: Any) -> str:
    values = {
        "access_key_id": handle.access_key_id,
        "access_key_secret": handle.access_key_secret,
        "region": handle.region,
        "endpoint": handle.endpoint,
        "protocol": "http",
        **extra,
    }
    return json.dumps(
        {"conn_type": "alibaba_cloud", "extra": {k: v for k, v in values.items() if v is not None}}
    )


@pytest.fixture
def make_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``make_conn(handle, conn_id="iprod_x", **extra)`` -> conn id, as an AIRFLOW_CONN_* variable."""

    def _make(handle: Any, conn_id: str = "iprod_test", **extra: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(handle, **extra))
        return conn_id

    return _make


@pytest.fixture
def iprod_conn(local_engine: Any, make_conn: Callable[..., str]) -> str:
    return make_conn(local_engine)


@pytest.fixture(scope="session")
def noisy_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of a 16 kHz tone in white noise: a valid SpeechDenoise input that processes in ~1 s."""
    import numpy as np
    import soundfile as sf

    rate = 16000
    t = np.arange(rate * 3) / rate
    rng = np.random.default_rng(3)
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))
    path = tmp_path_factory.mktemp("media") / "talk.wav"
    sf.write(path, audio.astype("float32"), rate, subtype="PCM_16")
    return path


@pytest.fixture
def run_dag(airflow_db: Path) -> Iterator[Callable[..., Any]]:
    """``run_dag(dag, **conf)`` -> the DagRun of ``dag.test()`` (triggers run in-line)."""

    def _run(dag: Any | str, **conf: Any) -> Any:
        if isinstance(dag, str):
            dag = test_dag(dag)
        return dag.test(run_conf=conf or None)

    yield _run


def test_dag(dag_id: str) -> Any:
    """A DAG from tests/dag_files (imported from its file, as the DAG processor would)."""
    import importlib.util

    path = REPO / "tests/dag_files/iprod_test_dags.py"
    spec = importlib.util.spec_from_file_location("iprod_test_dags", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DAGS[dag_id]
