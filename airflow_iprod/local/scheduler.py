"""Pick queued jobs and run each in its own worker process.

Order: smaller ``Priority`` first, then submission order. Limits: at most ``workers`` processes in all
and, per pipeline, its concurrency (10 for the default pipeline, as documented) capped by ``workers``.
A pipeline at its limit does not block jobs of other pipelines. Cancel removes a queued job or kills a
running one's process group. On start, jobs left running by a previous engine go back to the queue.
A worker that dies without reporting an outcome (killed, crashed) is not the algorithm failing: its job
goes back to the queue, up to ``config.worker_attempts`` runs in all (the ``attempts`` column), then
ends in Fail saying so. Either way the job is completed once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import airflow_iprod
from airflow_iprod.local.config import EngineConfig
from airflow_iprod.local.faults import Faults
from airflow_iprod.local.job_store import ANALYZING, FAIL, FINISHED, QUEUING, SUCCESS, Job, JobStore
from airflow_iprod.local.worker import ENGINE_PID_ENV, OUTCOME_FILE, TASK_FILE, write_json

CANCEL_CODE = "Cancelled"
CANCEL_MESSAGE = "The job was cancelled by CancelIProductionJob."
# Turns a finished worker's outcome into OutputMediaIds (the engine registers assets for Output.Type=Media).
MediaHook = Callable[[Job, list[str]], list[str]]


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen
    workdir: Path
    log: Any


class Scheduler:
    def __init__(
        self,
        config: EngineConfig,
        store: JobStore,
        objects_root: Path,
        faults: Faults,
        media_hook: MediaHook | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.objects_root = Path(objects_root)
        self.faults = faults
        self.media_hook = media_hook
        self.work_root = config.data_dir / "work"
        self.log_root = config.data_dir / "logs"
        self._running: dict[str, _Running] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Ids of the most recently started jobs, in start order (tests, diagnostics); bounded.
        self.started_order: deque[str] = deque(maxlen=10_000)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Requeue jobs a previous engine left running, then begin dispatching; returns the requeued ids."""
        requeued = self.store.requeue_interrupted()
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.log_root.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="iprod-scheduler", daemon=True)
        self._thread.start()
        return requeued

    def stop(self) -> None:
        """Stop dispatching and kill running workers; their jobs stay Analyzing and rerun on next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for run in list(self._running.values()):
                self._kill(run)
                run.log.close()
            self._running.clear()

    def wake(self) -> None:
        self._wake.set()

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # -- cancel ------------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> str | None:
        """Cancel a queued or running job. Returns the status it had (None if unknown)."""
        with self._lock:
            job = self.store.get(job_id)
            if job is None:
                return None
            if job.status in FINISHED:
                return job.status
            run = self._running.pop(job_id, None)
            if run is not None:
                self._kill(run)
                run.log.close()
                shutil.rmtree(run.workdir, ignore_errors=True)
            self.store.finish(
                job_id,
                FAIL,
                code=CANCEL_CODE,
                message=CANCEL_MESSAGE,
                result=json.dumps({"Code": CANCEL_CODE, "Message": CANCEL_MESSAGE}),
            )
        self._wake.set()
        return job.status

    # -- the loop ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.1)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._reap()
                self._dispatch()
            except Exception as err:  # keep scheduling whatever one job did
                _log(f"{type(err).__name__}: {err}")

    def _reap(self) -> None:
        with self._lock:
            done = [(jid, run) for jid, run in self._running.items() if run.proc.poll() is not None]
            for jid, _run in done:
                del self._running[jid]
        for _jid, run in done:
            run.log.close()
            try:
                self._record(run)
            except Exception as err:  # never leave a job Analyzing forever because recording it failed
                message = f"recording the job's outcome failed: {type(err).__name__}: {err}"
                self.store.finish(
                    run.job.job_id,
                    FAIL,
                    code="InternalError",
                    message=message,
                    result=json.dumps({"Code": "InternalError", "Message": message}),
                )
        if done:
            self._wake.set()

    def _record(self, run: _Running) -> None:
        outcome_path = run.workdir / OUTCOME_FILE
        job = run.job
        if outcome_path.exists():
            outcome = json.loads(outcome_path.read_text())
        else:
            outcome = self._worker_died(run)
            if outcome is None:  # requeued: it runs again
                return
        if outcome["status"] == SUCCESS:
            files = outcome.get("files", [])
            media_ids = self.media_hook(job, files) if self.media_hook else []
            self.store.finish(
                job.job_id,
                SUCCESS,
                result=outcome.get("result") or "{}",
                outputs={"files": files, "media_ids": media_ids},  # URLs are made at Query time
            )
        else:
            code, message = outcome.get("code") or "InternalError", outcome.get("message") or "failed"
            self.store.finish(
                job.job_id,
                FAIL,
                code=code,
                message=message,
                result=json.dumps({"Code": code, "Message": message}, ensure_ascii=False),
            )
        shutil.rmtree(run.workdir, ignore_errors=True)

    def _worker_died(self, run: _Running) -> dict[str, Any] | None:
        """The worker exited without an outcome. Requeue its job (None), or, after the last allowed
        attempt, the Fail outcome that says so."""
        job_id, code = run.job.job_id, run.proc.returncode
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        current = self.store.get(job_id)
        attempts = current.attempts if current is not None else self.config.worker_attempts
        limit = self.config.worker_attempts
        shutil.rmtree(run.workdir, ignore_errors=True)
        what = f"job {job_id}: worker {how} without reporting (attempt {attempts} of {limit})"
        if attempts < limit:
            if self.store.requeue(job_id):
                _log(f"{what}; requeued")
            return None
        _log(f"{what}; giving up")
        tail = _tail(self.log_root / f"{job_id}.log")
        return {
            "status": FAIL,
            "code": "InternalError",
            "message": f"the job's worker process died without reporting on each of its {attempts} "
            f"attempts (last one {how}); {tail}",
        }

    def _dispatch(self) -> None:
        with self._lock:
            free = self.config.workers - len(self._running)
            if free <= 0:
                return
            per_pipeline: dict[str, int] = {}
            for run in self._running.values():
                per_pipeline[run.job.pipeline_id] = per_pipeline.get(run.job.pipeline_id, 0) + 1
            for job in self.store.queued():
                if free <= 0 or self._stop.is_set():
                    break
                if per_pipeline.get(job.pipeline_id, 0) >= self.config.concurrency(job.pipeline_id):
                    continue
                if time.time() < job.create_time + self.faults.queue_hold_s(job.request):
                    continue  # fault injection: held in the queue until its known time
                forced = self.faults.forced_failure(job.function_name, job.job_id)
                if forced is not None:
                    self.store.finish(
                        job.job_id,
                        FAIL,
                        code="InjectedFault",
                        message=forced,
                        result=json.dumps({"Code": "InjectedFault", "Message": forced}),
                    )
                    continue
                # The injected delay is the one in force when the job starts: read it before the job
                # shows as Analyzing, so whoever sees that status knows which delay the job got.
                delay = self.faults.config.job_latency_s
                if not self.store.mark_running(job.job_id):
                    continue
                job.status = ANALYZING
                self._running[job.job_id] = self._spawn(job, delay)
                self.started_order.append(job.job_id)
                per_pipeline[job.pipeline_id] = per_pipeline.get(job.pipeline_id, 0) + 1
                free -= 1

    def _spawn(self, job: Job, injected_delay_s: float = 0.0) -> _Running:
        workdir = self.work_root / job.job_id
        shutil.rmtree(workdir, ignore_errors=True)  # a rerun after restart starts clean
        workdir.mkdir(parents=True)
        threads = max(1, (os.cpu_count() or 1) // max(1, self.config.workers))
        task = task_for(job, self.objects_root, threads)
        task["injected_delay_s"] = injected_delay_s  # fault injection: a slow algorithm
        write_json(workdir / TASK_FILE, task)
        log = open(self.log_root / f"{job.job_id}.log", "ab")  # noqa: SIM115 - closed when reaped
        # Not the engine's secret (given through the environment): a worker never needs it.
        env = {k: v for k, v in os.environ.items() if k != "IPROD_LOCAL_ACCESS_KEY_SECRET"}
        src_root = str(Path(airflow_iprod.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src_root, env.get("PYTHONPATH")) if p)
        env.setdefault("OMP_NUM_THREADS", str(threads))
        env[ENGINE_PID_ENV] = str(os.getpid())
        proc = subprocess.Popen(
            [self.config.python or sys.executable, "-m", "airflow_iprod.local.worker", str(workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
            start_new_session=True,  # its own process group: Cancel kills helpers (ffmpeg...) too
        )
        return _Running(job=job, proc=proc, workdir=workdir, log=log)

    @staticmethod
    def _kill(run: _Running) -> None:
        if run.proc.poll() is not None:
            return
        try:
            os.killpg(run.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            run.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.proc.wait(timeout=10)


def task_for(job: Job, objects_root: Path, threads: int) -> dict[str, Any]:
    """What a worker needs to run ``job`` (written to task.json)."""
    from airflow_iprod import catalog

    source = ""
    if job.input_url:
        _, key = catalog.split_oss_url(job.input_url)
        name = key.rsplit("/", 1)[-1]
        source = name.rsplit(".", 1)[0] if "." in name else name
    spec = catalog.spec_for(job.function_name, job.api)
    return {
        "job_id": job.job_id,
        "api": job.api,
        "function_name": job.function_name,
        "params": job.params,
        "model_id": job.request.get("ModelId") or None,
        "input_url": job.input_url,
        "output_template": job.output_template,
        "source": source,
        "timestamp": int(job.create_time),
        "output_ext": spec.output_ext or "",
        "objects_root": str(objects_root),
        "threads": threads,
    }


def _log(text: str) -> None:
    print(f"[iprod-scheduler] {text}", file=sys.stderr, flush=True)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _tail(path: Path, limit: int = 400) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return "no worker log"
    return ("log: " + text[-limit:]) if text else "empty worker log"


__all__ = ["CANCEL_CODE", "CANCEL_MESSAGE", "QUEUING", "Scheduler", "task_for"]
