"""Two triggerer processes (each with its own event loop and consumer) share one MNS queue: each holds half
the jobs, the other's messages are released to it, and no completion is lost. The safety-net poll is 300 s
away, so every job must end on its own message. The jobs end before the triggerers start, so the first
receive takes messages of both halves and must hand the other's back."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

from tests.conftest import wait_for
from tests.triggers.test_callbacks import (
    INTERVAL_ENV,
    make_queue,
    mps_job,
    queries,
)

ROOT = Path(__file__).resolve().parents[2]
# One triggerer: its half of the jobs' callback triggers on one event loop (the connection and the
# safety-net interval come through the environment, as in a real triggerer).
TRIGGERER = r"""
import asyncio, json, sys
import tests.airflow_env
from airflow_iprod.triggers import mns_consumer
from tests.triggers.test_callbacks import callback_trigger, run_trigger
conn, queue, jobs = sys.argv[1], sys.argv[2], sys.argv[3:]

async def main():
    runs = [run_trigger(callback_trigger(j, conn, queue)) for j in jobs]
    events = await asyncio.wait_for(asyncio.gather(*runs), 150)
    [consumer] = mns_consumer._CONSUMERS[asyncio.get_running_loop()].values()
    await consumer.settled()
    print(json.dumps({"events": events, "deleted": consumer.deleted, "released": consumer.released}))

asyncio.run(main())
"""


def test_two_consumers_share_one_queue_without_losing_a_completion(make_engine, make_conn, monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "300")
    handle = make_engine(workers=2)
    conn = make_conn(handle, "iprod_cb_shared")
    queue = make_queue(handle)
    jobs = [mps_job(handle, queue.queue_name, f"shared{n}") for n in range(8)]
    for job_id in jobs:  # all ended and their messages in the queue: the first receive takes both halves'
        wait_for(handle.mts(), "mts", job_id)
    handle.engine.callbacks.deliver_due()
    halves = {"a": jobs[0::2], "b": jobs[1::2]}  # interleaved: each side's messages reach the other too
    before = queries(handle)
    sides = {
        name: subprocess.Popen(
            [sys.executable, "-c", TRIGGERER, conn, queue.queue_name, *own],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name, own in halves.items()
    }
    results = {}
    for name, proc in sides.items():
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        results[name] = json.loads(out.strip().splitlines()[-1])
    for name, own in halves.items():
        assert [events[0]["status"] for events in results[name]["events"]] == ["success"] * len(own)
        assert [events[0]["job_id"] for events in results[name]["events"]] == own
        assert results[name]["deleted"] == len(own)  # each side deleted exactly its own messages
    assert sum(r["released"] for r in results.values()) >= 1  # a message crossed to the other side
    assert queries(handle) - before == len(jobs)  # one confirming Query per job: no safety-net poll
    with warnings.catch_warnings():  # the SDK marks the message counts as deprecated; MNS still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        attributes = queue.get_attributes()
        assert attributes.active_messages + attributes.inactive_messages == 0
