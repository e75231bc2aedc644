"""Many deferred tasks in one real ``airflow triggerer``, against a local engine process.

    PYTHONPATH=. .venv/bin/python bench/bench_triggerer.py [--tasks 1000] [--tls] [--mode rows|e2e]
        [--wait-mode poll|callback|both]

* ``--wait-mode callback``: the tasks wait with ``wait_mode="callback"`` on an ``ice-callback-`` queue of
  the engine's MNS, set as ICE's event callback; ``both`` runs polling and callbacks side by side in one
  run on the same plan, each triggerer with its own engine and Airflow home, on its own core (the other
  mode's engine and deferrer on that core). Callback mode also reports the MNS calls the engine saw.

* The engine (pinned to CPU 1 with ``taskset``, one worker) holds each job in its queue for a known time
  taken from the job's UserData (fault ``--fault-user-data-hold``) and then ends it (``--fault-fail-jobs``:
  no worker runs, so the engine stays out of the measurement). Holds are drawn from
  ``[--min-hold, --max-hold]``; each task's ``expected_duration`` is its hold times a factor drawn from
  [0.8, 1.25], the error of an estimate.
* The tasks are the mapped ``wait`` tasks of ``iprod_bench_many_waits`` (``tests/dag_files``), run to
  their deferral by the test driver (``tests.chaos.airflow_driver --triggerer``, also on CPU 1), which
  resumes each one after its trigger fires, as a scheduler would. ``airflow triggerer`` runs on CPU 0.
* From the moment every task is deferred until every trigger has fired it reports: the triggerer's
  process tree CPU (its supervisor and its trigger runner apart) and peak RSS; Queries per second and the
  worst sliding second, as the engine counted them; TCP connections opened; CPU per Query; and the
  delay from each job's end (the engine's FinishTime) to its trigger firing (its task leaving
  ``deferred`` in the metadata DB, sampled every 0.25 s): median and p95.
* Then, in the same run, a naive poller on the official SDK's async client polls the same jobs at the
  same ``query_qps`` for 30 s on CPU 0: its CPU per Query is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
STARTUP_S = 20.0  # after the last trigger is assigned, before the measured window opens
SAMPLE_S = 0.1  # how often the task states are read: the delays are this much coarse
CALLBACK_QUEUE = "ice-callback-bench"  # ICE's callback queues are named ice-callback-*
sys.path.insert(0, str(ROOT / "bench"))
from bench_query_path import POLLER  # noqa: E402 - the naive SDK poller, shared with that bench


def _engine(tmp: Path, tls: bool, cpu: int) -> tuple[subprocess.Popen, dict]:
    ready = tmp / "engine.json"
    cmd = ["taskset", "-c", str(cpu), PY, "-m", "airflow_iprod.local", "--port", "0", "--workers", "1",
           "--data-dir", str(tmp / "engine"), "--ready-file", str(ready), "--fault-user-data-hold", "on",
           "--fault-fail-jobs", "*", "--fault-fail-message", "benchmark: held job ended"]  # fmt: skip
    if tls:
        cmd.append("--tls")
    log = (tmp / "engine.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit((tmp / "engine.log").read_text()[-2000:])
        time.sleep(0.1)
    time.sleep(0.3)
    return proc, json.loads(ready.read_text())


def _stats(info: dict, since: float | None = None) -> dict:
    import ssl

    extra = info["connection"]["extra"]
    ctx = ssl.create_default_context(cafile=extra["ca_bundle"]) if extra.get("ca_bundle") else None
    url = f"{extra['protocol']}://{info['endpoint']}/-/stats" + (f"?since={since}" if since else "")
    with urllib.request.urlopen(url, context=ctx, timeout=10) as answer:
        return json.loads(answer.read())


def _tree(pid: int) -> dict:
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    out = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
            cmd = " ".join(proc.cmdline())
            role = "runner" if proc is not root and "triggerer" in cmd else f"pid{proc.pid}"
            if proc is root:
                role = "supervisor"
            out[role] = {"cpu": times.user + times.system, "rss": proc.memory_info().rss}
        except psutil.Error:
            continue
    return out


def _assigned(db: Path, assigned: bool = True) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        where = "IS NOT NULL" if assigned else "IS NULL"
        return conn.execute(f"SELECT count(*) FROM trigger WHERE triggerer_id {where}").fetchone()[0]
    finally:
        conn.close()


def _states(db: Path, run_id: str) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT map_index, state FROM task_instance WHERE run_id = ? AND task_id = 'wait'", (run_id,)
        ).fetchall()
    finally:
        conn.close()
    return {int(i): str(s) for i, s in rows}


def run(args: argparse.Namespace, mode: str, plan: list[dict], cpus: tuple[int, int]) -> dict:
    """One wait mode with its own engine and Airflow home: triggerer on ``cpus[0]``, the rest ``cpus[1]``."""
    trig_cpu, other_cpu = (str(c) for c in cpus)
    tmp = Path(tempfile.mkdtemp(prefix=f"iprod-bench-trig-{mode}-"))
    home = tmp / "airflow"
    home.mkdir()
    env = {**os.environ, "IPROD_TEST_AIRFLOW_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env_code = "import tests.airflow_env, os, json; print(json.dumps(dict(os.environ)))"
    env = json.loads(subprocess.run([PY, "-c", env_code], env=env, capture_output=True, text=True,
                                    check=True).stdout)  # fmt: skip
    subprocess.run([PY, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    engine, info = _engine(tmp, args.tls, int(other_cpu))
    if mode == "callback":
        info["connection"]["extra"]["callback_queue"] = CALLBACK_QUEUE
    conn = json.dumps(info["connection"])
    env["AIRFLOW_CONN_IPROD_BENCH"] = conn
    env["AIRFLOW__IPROD__QUERY_QPS"] = str(args.qps)
    env["AIRFLOW__TRIGGERER__CAPACITY"] = str(args.tasks + 100)
    # two triggerers side by side: each its own log server port (the second could not bind 8794)
    env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(8794 + (mode == "callback"))
    src = _setup(env, mode)
    if mode == "callback":
        plan = [{**job, "wait_mode": "callback"} for job in plan]
    (tmp / "plan.json").write_text(json.dumps(plan))
    env["IPROD_BENCH_PLAN"] = str(tmp / "plan.json")
    db = home / "airflow.db"
    run_id = f"bench-{int(time.time())}"
    log = (tmp / "deferrer.log").open("wb")
    if args.mode == "e2e":  # the operator's own path: the task runner submits, probes and defers
        conf = json.dumps({"conn": "iprod_bench", "src": src})
        cmd = ["-m", "tests.chaos.airflow_driver", run_id, "iprod_bench_many_waits", "--conf", conf,
               "--triggerer", "--timeout", "7200"]  # fmt: skip
    else:  # the same rows through Airflow's models, fast enough for 1000 tasks
        cmd = [str(ROOT / "bench" / "_defer_rows.py"), run_id, "iprod_bench", src]
    deferrer = subprocess.Popen(["taskset", "-c", other_cpu, PY, *cmd], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    # SQLite takes one writer at a time: the rows first, then the triggerer
    if args.mode == "rows" and deferrer.wait() != 0:
        raise SystemExit(f"deferring failed; logs in {tmp}")
    trig_log = (tmp / "triggerer.log").open("wb")
    triggerer = subprocess.Popen(
        ["taskset", "-c", trig_cpu, PY, "-m", "airflow", "triggerer"], env=env, cwd=ROOT, stdout=trig_log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        return _measure(args, mode, tmp, db, run_id, info, triggerer, deferrer, trig_cpu)
    finally:
        for proc in (deferrer, triggerer, engine):
            proc.terminate()
        for proc in (deferrer, triggerer, engine):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _measure(args, mode, tmp, db, run_id, info, triggerer, driver, trig_cpu) -> dict:
    start = time.time()
    deferred_seen: set[int] = set()
    fired: dict[int, float] = {}
    t_all = None
    before = cpu0 = None
    rss_peak = runner_rss = unassigned_max = 0
    while len(fired) < args.tasks:
        failed = driver.poll() not in (None, 0)
        if triggerer.poll() is not None or failed:
            raise SystemExit(f"a process ended early; logs in {tmp}")
        if time.time() - start > args.max_hold * 3 + 3600:
            raise SystemExit(f"not done in time; logs in {tmp}")
        now = time.time()
        for index, state in _states(db, run_id).items():
            if state == "deferred":
                deferred_seen.add(index)
            elif index in deferred_seen and index not in fired:
                fired[index] = now
        if t_all is None and len(deferred_seen) >= args.tasks and _assigned(db) >= args.tasks:
            # every trigger is the triggerer's; give it STARTUP_S to build them before measuring
            time.sleep(STARTUP_S)
            t_all, before, cpu0 = time.time(), _stats(info), _tree(triggerer.pid)
            print(
                f"  {mode}: all {args.tasks} triggers running {t_all - start:.0f} s after start", flush=True
            )
        if t_all is not None:
            # triggers taken from the triggerer (its heartbeat late) and handed out again: restarted
            unassigned_max = max(unassigned_max, _assigned(db, assigned=False))
            tree = _tree(triggerer.pid)
            rss_peak = max(rss_peak, sum(p["rss"] for p in tree.values()))
            runner_rss = max(runner_rss, tree.get("runner", {"rss": 0})["rss"])
        time.sleep(SAMPLE_S)
    t_end = time.time()
    cpu1, after = _tree(triggerer.pid), _stats(info, since=t_all)
    window = t_end - t_all
    finish = _finish_times(tmp / "engine" / "jobs.sqlite")
    delays = sorted(fired[i] - finish[i] for i in fired if i in finish and finish[i] >= t_all)
    queries = after["actions"]["QueryIProductionJob"] - before["actions"].get("QueryIProductionJob", 0)
    cpu = {role: cpu1[role]["cpu"] - cpu0.get(role, {"cpu": 0})["cpu"] for role in cpu1}
    ids = list(_job_ids(tmp / "engine" / "jobs.sqlite"))
    naive = _naive(info, ids, args.qps, trig_cpu) if mode == "poll" else None
    mns = {a: n - before["actions"].get(a, 0) for a, n in after["actions"].items() if a.startswith("MNS")}
    return {
        "mode": mode,
        "window_s": window,
        "jobs_ended_in_window": sum(1 for i in finish if finish[i] >= t_all),
        "queries": queries,
        "qps": queries / window,
        "queries_per_job_ended": queries / max(1, sum(1 for i in finish if finish[i] >= t_all)),
        "mns_calls": mns,
        "max_per_second": after["max_per_second"].get("QueryIProductionJob"),
        "connections": after["connections"] - before["connections"] - 1,
        "cpu_share": {role: c / window for role, c in cpu.items()},
        "runner_ms_per_query": 1000 * cpu.get("runner", 0) / max(queries, 1),
        "tree_ms_per_query": 1000 * sum(cpu.values()) / max(queries, 1),
        "rss_peak_mb": rss_peak / 2**20,
        "runner_rss_peak_mb": runner_rss / 2**20,
        "delay_median_s": statistics.median(delays) if delays else None,
        "delay_p95_s": delays[int(0.95 * (len(delays) - 1))] if delays else None,
        "delays_counted": len(delays),  # jobs that ended inside the window (earlier ones measure start-up)
        "fired_before_window": sum(1 for i in fired if fired[i] < t_all),
        "naive_ms_per_query": naive,
        "triggers_unassigned_max": unassigned_max,
        "log_lines": sum(1 for _ in (tmp / "triggerer.log").open("rb")),
    }


def _finish_times(path: Path) -> dict[int, float]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT request, finish_time FROM jobs WHERE finish_time IS NOT NULL").fetchall()
    finally:
        conn.close()
    return {json.loads(json.loads(r)["UserData"])["i"]: f for r, f in rows}


def _job_ids(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT job_id FROM jobs")]
    finally:
        conn.close()


def _naive(info: dict, ids: list[str], qps: float, cpu: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AIRFLOW_CONN_IPROD_BENCH": json.dumps(info["connection"])}
    out = subprocess.run(["taskset", "-c", cpu, PY, "-c", POLLER, "naive", "iprod_bench", str(qps), "30",
                          json.dumps(ids)], env=env, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return 1000 * measured["cpu_s"] / measured["queries"]


def _setup(env: dict, mode: str) -> str:
    """The input file; in callback mode also the MNS queue and ICE's event callback pointing at it."""
    code = r"""
import io, sys, numpy as np, soundfile as sf, alibabacloud_oss_v2 as oss
import tests.airflow_env
from airflow_iprod.hooks.iproduction import IProductionHook
hook = IProductionHook("iprod_bench")
buf = io.BytesIO()
sf.write(buf, np.zeros(16000, dtype="float32"), 16000, format="WAV")
hook.oss_client().put_object(oss.PutObjectRequest(bucket="media", key="bench/in.wav", body=buf.getvalue()))
if sys.argv[1] == "callback":
    from alibabacloud_ice20201109 import models
    from mns.queue import QueueMeta
    from airflow_iprod.triggers.mns_setup import queue_address
    queue = hook.extras["callback_queue"]
    queue_address(hook.settings(), queue).sdk_queue().create(QueueMeta())
    request = models.SetEventCallbackRequest(callback_type="MNS", callback_queue_name=queue)
    assert hook.get_conn().set_event_callback(request).body.success
"""
    subprocess.run([PY, "-c", code, mode], env=env, cwd=ROOT, check=True, capture_output=True)
    return "oss://media/bench/in.wav"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--qps", type=float, default=20.0)
    parser.add_argument("--min-hold", type=float, default=180.0)
    parser.add_argument("--max-hold", type=float, default=660.0)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--mode", choices=("rows", "e2e"), default="rows")
    parser.add_argument("--wait-mode", choices=("poll", "callback", "both"), default="poll")
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.1f}; {args.tasks} tasks over {'HTTPS' if args.tls else 'HTTP'}, "
        f"query_qps {args.qps:g}, poll_interval 10 s, holds {args.min_hold:g}-{args.max_hold:g} s, "
        f"wait mode {args.wait_mode}",
        flush=True,
    )
    rng = random.Random(7)
    holds = [rng.uniform(args.min_hold, args.max_hold) for _ in range(args.tasks)]
    plan = [
        {"output": f"oss://media/bench/{i}.wav", "expected_duration": round(h * rng.uniform(0.8, 1.25), 1),
         "user_data": json.dumps({"iprod_fault_hold_s": round(h, 1), "i": i})}
        for i, h in enumerate(holds)
    ]  # fmt: skip
    if args.wait_mode != "both":
        print(json.dumps(run(args, args.wait_mode, plan, (0, 1)), indent=1))
        return
    # Side by side in one run, on the same plan: each triggerer on its own core, its engine and
    # deferrer on the other (both engines only hold jobs; the engines' CPU is not measured).
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(run, args, "poll", plan, (0, 1)),
            pool.submit(run, args, "callback", plan, (1, 0)),
        ]
        print(json.dumps([r.result() for r in runs], indent=1))


if __name__ == "__main__":
    main()
