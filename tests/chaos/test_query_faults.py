"""Chaos: 50 jobs through the hook (``submit`` + ``wait``, its one retry policy) against an engine that
answers 20% of Query calls with ServiceUnavailable and throttles Submit and Query far below the demand.
50/50 complete, none lost, none duplicated (a Submit is resent only when the engine refused it).
The engine's refusals are counted where it makes them (its throttle and its fault injector). Prints its
figures."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import upload_to
from tests.local.wavgen import noisy_tone_wav

pytestmark = pytest.mark.slow

JOBS, CLIENTS = 50, 10  # ten tasks at a time, each submitting and waiting for five jobs in turn
# Requests per second per action. Query demand (10 clients polling every 0.5 s, plus resends) is several
# times its limit: the wait outlasts that. Submit's limit is one burst of all clients: a Submit resent
# 5 times (the hook's default) under a Submit limit far below the demand can still be refused for good,
# which then fails the task, and Airflow's task retry is the next line of defence (not tested here).
RATES = {"SubmitIProductionJob": float(CLIENTS), "QueryIProductionJob": 8.0}


def test_50_jobs_through_query_errors_and_throttling(make_engine: Any, make_conn: Any) -> None:
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.local.config import FaultConfig

    started = time.monotonic()
    engine = make_engine(
        workers=2,
        throttle_rates=dict(RATES),
        faults=FaultConfig(query_error_rate=0.2, seed=5),
    )
    counts = {"query_errors": 0, "transient_seen_by_wait": 0, **{action: 0 for action in RATES}}
    lock = threading.Lock()
    allow, log = engine.engine.throttle.allow, engine.engine.faults._log

    def counted_allow(action: str) -> bool:  # observe the engine's own decisions, unchanged
        ok = allow(action)
        if not ok:
            with lock:
                counts[action] = counts.get(action, 0) + 1
        return ok

    def counted_log(text: str) -> None:
        if "answered" in text:
            with lock:
                counts["query_errors"] += 1
        log(text)

    engine.engine.throttle.allow = counted_allow  # type: ignore[method-assign]
    engine.engine.faults._log = counted_log
    conn_id = make_conn(engine, "iprod_chaos_faults")
    sources = [upload_to(engine, noisy_tone_wav(0.3, seed=n), f"faults/in{n}.wav") for n in range(JOBS)]

    def one_job(n: int) -> tuple[str, str]:
        hook = IProductionHook(conn_id)

        def transient(_err: Any) -> None:
            with lock:
                counts["transient_seen_by_wait"] += 1

        request = hook.request(
            "SpeechDenoise", input=sources[n], output="oss://media/faults/out/{source}.wav"
        )
        job_id = hook.submit(request)
        state, finished = hook.wait(job_id, timeout=150, interval=0.5, on_transient=transient)
        assert finished and state is not None, f"job {job_id} unfinished: {state}"
        return job_id, state.status

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one_job, range(JOBS)))
    rows = engine.engine.jobs._conn().execute("SELECT job_id, input_url, status FROM jobs").fetchall()
    completed = sum(1 for _, status in results if status == "Success")
    per_input = {src: sum(1 for r in rows if r[1] == src) for src in sources}
    duplicated = sum(n - 1 for n in per_input.values() if n > 1)
    lost = sum(1 for n in per_input.values() if n == 0)
    print(
        f"\nquery errors 20% + throttling {RATES}/s, {CLIENTS} clients: jobs {JOBS}, faults injected "
        f"{counts['query_errors']} Query errors + throttled {counts['QueryIProductionJob']} Query, "
        f"{counts['SubmitIProductionJob']} Submit, completed {completed}, "
        f"lost {lost}, duplicated {duplicated}, transient past the per-call retries "
        f"{counts['transient_seen_by_wait']}, wall {time.monotonic() - started:.1f} s"
    )
    assert completed == JOBS and len({job_id for job_id, _ in results}) == JOBS
    assert len(rows) == JOBS and lost == 0 and duplicated == 0
    assert all(status == "Success" for _, _, status in rows)
    assert counts["query_errors"] > 0 and counts["QueryIProductionJob"] > 0  # the faults really happened
