"""Airflow as real processes for the chaos tests: the run driver (``tests.chaos.airflow_driver``) and
``airflow triggerer``, each in its own process group so ``kill -9`` takes all of it, and read-only looks
at the metadata DB (SQLite) to know when a process is where the test wants to kill it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.airflow_env import connection_json
from tests.engine_process import process_exists

ROOT = Path(__file__).resolve().parents[2]


def airflow_env(conn_id: str, engine: Any, **extra: str) -> dict[str, str]:
    """The test Airflow (same AIRFLOW_HOME and DB, passed on so ``tests.airflow_env`` reuses it in the child)
    and the connection ``conn_id`` to ``engine``."""
    return {
        **os.environ,
        "IPROD_TEST_AIRFLOW_HOME": os.environ["AIRFLOW_HOME"],
        f"AIRFLOW_CONN_{conn_id.upper()}": connection_json(engine),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@dataclass
class Proc:
    """A process group started by a test; ``kill9()`` is ``kill -9`` of the whole group."""

    popen: subprocess.Popen
    out: Path
    err: Path

    @classmethod
    def spawn(cls, args: list[str], env: dict[str, str], tmp: Path, name: str) -> Proc:
        out, err = tmp / f"{name}.out", tmp / f"{name}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            popen = subprocess.Popen(
                args, env=env, cwd=ROOT, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        return cls(popen, out, err)

    def kill9(self) -> None:
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        deadline = time.monotonic() + 10  # the group's children die too (a triggerer's runner process)
        while process_exists(self.popen.pid, group=True):
            assert time.monotonic() < deadline, f"process group {self.popen.pid} outlived kill -9"
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self) -> str:
        return f"stdout: {self.out.read_text()[-1500:]}\nstderr: {self.err.read_text()[-3000:]}"

    def stop(self) -> None:
        if self.alive() or process_exists(self.popen.pid, group=True):
            self.kill9()


def driver(run_id: str, dag_id: str, conf: dict[str, Any], env: dict[str, str], tmp: Path, name: str,
           *, triggerer: bool = False) -> Proc:  # fmt: skip
    """``python -m tests.chaos.airflow_driver``: runs (or carries on) the DAG run ``run_id``."""
    args = [sys.executable, "-m", "tests.chaos.airflow_driver", run_id, dag_id, "--conf", json.dumps(conf)]
    return Proc.spawn([*args, *(["--triggerer"] if triggerer else [])], env, tmp, name)


def driver_result(proc: Proc, timeout: float) -> dict[str, Any]:
    try:
        proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.stop()
        raise AssertionError(f"the driver did not finish within {timeout} s\n{proc.tail()}") from None
    assert proc.popen.returncode == 0, proc.tail()
    return json.loads(proc.out.read_text().strip().splitlines()[-1])


def metadata_db() -> Path:
    return Path(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the Airflow metadata DB (SQLite) without taking part in its writes."""
    conn = sqlite3.connect(f"file:{metadata_db()}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(what: str, check: Callable[[], Any], timeout: float, *watch: Proc) -> Any:
    """Poll ``check`` until it returns something truthy; the processes in ``watch`` must stay alive."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        for proc in watch:
            assert proc.alive(), (
                f"{proc.popen.args[:4]} exited ({proc.popen.returncode}) before {what}\n{proc.tail()}"
            )
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.05)
    return found
