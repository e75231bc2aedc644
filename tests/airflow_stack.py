"""A real Airflow for the UI and scheduler tests: ``airflow api-server``, ``scheduler`` (LocalExecutor),
``dag-processor`` and ``triggerer`` on a fresh home of their own, the example DAGs only, and an
``iprod_local`` connection to the tests' local engine.

One stack per pytest session, shared by every module that asks for it (``shared_stack``): a start costs
a ``db migrate`` and an api-server start (15-60 s on a busy 2-core machine), so the scheduler test and
the connection-form test pay it once. A module asks for the processes it needs and may stop the ones
it alone needs when it is done (the scheduler's loop and the DAG processor's parsing cost CPU while idle).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_env import REPO, connection_json

PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, logs: Path, every: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; on timeout fail with the processes' log tails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    tails = {p.name: p.read_text(errors="replace")[-2000:] for p in sorted(logs.glob("*.log"))}
    pytest.fail(f"{what} not within {timeout:.0f} s; log tails: {json.dumps(tails, indent=1)}")


class AirflowStack:
    """The processes on one home; ``base`` is the api-server's URL (UI at ``/``, REST at ``/api/v2``)."""

    def __init__(self, root: Path, engine: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.home, self.logs = root / "home", root / "logs"
        self.logs.mkdir(parents=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {
                        "name": "iprod-examples",
                        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {"path": str(REPO / "dags")},
                    }
                ]
            ),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # how often the scheduler activates assets first seen through an alias (the Assets page
            # lists them only then; default 60 s)
            "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "5",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # no login page
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the connection form's Test button
            # the tests' own process reads this stack's connections with the same key
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "iprod-stack-test-only",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_IPROD_LOCAL": connection_json(engine),
            "IPROD_POLL_INTERVAL": "1",
        }
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=self.env, check=True, capture_output=True
        )

    @property
    def db_url(self) -> str:
        return str(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    def ensure(self, names: Iterable[str]) -> None:
        """Start those of ``names`` not running; wait for the api-server's health check."""
        for name in names:
            if name in self.procs and self.procs[name].poll() is None:
                continue
            args = ["--port", str(self.port), "--host", "127.0.0.1"] if name == "api-server" else []
            with open(self.logs / f"{name}.log", "ab") as log:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", name, *args],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: its workers stop with it
                )
        if "api-server" in names:
            wait_for("the api-server's health check", self._healthy, 240, self.logs, every=0.5)

    def _healthy(self) -> bool:
        if self.procs["api-server"].poll() is not None:
            pytest.fail(f"api-server exited: {(self.logs / 'api-server.log').read_text()[-2000:]}")
        try:
            return self.request("/api/v2/monitor/health", auth=False)[0] == 200
        except OSError:
            return False

    def stop(self, names: Iterable[str] = PROCESSES) -> None:
        """SIGTERM each process group, SIGKILL after 60 s (a scheduler drains its executor first)."""
        stopping = [self.procs.pop(n) for n in names if n in self.procs]
        for proc in stopping:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in stopping:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def request(
        self, path: str, body: dict[str, Any] | None = None, method: str = "GET", auth: bool = True
    ) -> tuple[int, Any]:
        """(status, JSON body) of a call to the api-server; an HTTP error is returned, not raised."""
        headers = {"Content-Type": "application/json"}
        if auth:
            with urllib.request.urlopen(f"{self.base}/auth/token", timeout=30) as response:
                headers["Authorization"] = f"Bearer {json.load(response)['access_token']}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A REST v2 call that must succeed: its JSON body."""
        status, answer = self.request(f"/api/v2{path}", body, method)
        assert 200 <= status < 300, (method, path, status, answer)
        return answer


def _fernet_key() -> str:
    from airflow.configuration import conf

    return str(conf.get("core", "fernet_key", fallback="") or "")


_SHARED: dict[str, AirflowStack] = {}


def shared_stack(request: pytest.FixtureRequest, engine: Any, names: Iterable[str]) -> AirflowStack:
    """The session's stack (created on first use, torn down at the session's end) with ``names`` running.
    Call it from a session-scoped fixture so that its teardown comes after every module's use."""
    if "stack" not in _SHARED:
        root = request.getfixturevalue("tmp_path_factory").mktemp("airflow-stack")
        stack = _SHARED["stack"] = AirflowStack(root, engine)

        def _teardown() -> None:
            stack.stop()
            _SHARED.pop("stack", None)

        request.addfinalizer(_teardown)
    stack = _SHARED["stack"]
    stack.ensure(names)
    return stack
