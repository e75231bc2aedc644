"""The local engine as a real process (``python -m airflow_iprod.local``), for tests of what only a
process shows: signals, exit codes, worker processes, files left on disk.

``EngineProcess.spawn(tmp, name, *flags)`` starts it with ``--port 0 --workers 1``, a data dir, a ready
file and stdout/stderr in files under ``tmp``; ``.wait_ready()`` reads the ready file; ``.ice()`` and
``.upload()`` are real SDK clients built from it; ``worker_pids(data_dir)`` finds its job processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
WORKER_MODULE = "airflow_iprod.local.worker"


@dataclass
class EngineProcess:
    proc: subprocess.Popen
    data_dir: Path
    ready: Path
    out: Path
    err: Path
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def spawn(cls, tmp: Path, name: str, *flags: str, env: dict[str, str] | None = None) -> EngineProcess:
        data_dir, ready = tmp / f"{name}-data", tmp / f"{name}.json"
        out, err = tmp / f"{name}.out", tmp / f"{name}.err"
        ready.unlink(missing_ok=True)
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow_iprod.local", "--port", "0", "--workers", "1",
                 "--data-dir", str(data_dir), "--ready-file", str(ready), *flags],
                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            )  # fmt: skip
        return cls(proc=proc, data_dir=data_dir, ready=ready, out=out, err=err)

    def handles_sigterm(self) -> bool:
        """True once the process has a SIGTERM handler (bit 15 of SigCgt in /proc/PID/status)."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return False
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
        return bool(caught & (1 << (signal.SIGTERM - 1)))

    def wait_for(self, what: str, timeout: float = 60) -> None:
        """Until stdout has a line starting with ``what`` (the engine must stay alive meanwhile)."""
        deadline = time.monotonic() + timeout
        while not any(line.startswith(what) for line in self.out.read_text().splitlines()):
            assert self.proc.poll() is None, f"the engine exited: {self.err.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no {what!r} line within {timeout} s"
            time.sleep(0.005)

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            assert self.proc.poll() is None, f"the engine exited: {self.err.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no ready file within {timeout} s"
            time.sleep(0.005)
        self.info = json.loads(self.ready.read_text())
        return self.info

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def _handle(self) -> Any:
        extra = self.info["connection"]["extra"]
        return SimpleNamespace(
            access_key_id=extra["access_key_id"],
            access_key_secret=extra["access_key_secret"],
            region=extra["region"],
            endpoint=extra["endpoint"],
        )

    def ice(self) -> Any:
        from tests.conftest import ice_client_for

        return ice_client_for(self._handle())

    def upload(self, data: bytes, key: str, bucket: str = "media") -> str:
        import alibabacloud_oss_v2 as oss

        from tests.conftest import oss_client_for

        oss_client_for(self._handle()).put_object(oss.PutObjectRequest(bucket=bucket, key=key, body=data))
        return f"oss://{bucket}/{key}"


def worker_pids(data_dir: Path) -> list[int]:
    """Live worker processes of the engine whose data dir is ``data_dir`` (their cwd is a job workdir
    under it and their command line names the worker module)."""
    found = []
    marker = str(data_dir.resolve())
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if WORKER_MODULE in cmdline and any(arg.startswith(marker) for arg in cmdline):
            found.append(proc.info["pid"])
    return found


def wait_worker(data_dir: Path, timeout: float = 30, other_than: tuple[int, ...] = ()) -> int:
    """The pid of the (one) worker process running under ``data_dir``, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in worker_pids(data_dir) if p not in other_than]
        if pids:
            return pids[0]
        assert time.monotonic() < deadline, f"no worker process under {data_dir} within {timeout} s"
        time.sleep(0.01)


def process_exists(pid: int, *, group: bool = False) -> bool:
    """Whether process ``pid`` (with ``group``: any process of group ``pid``) still exists."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    return True
