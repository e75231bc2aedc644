"""Two triggerers (two event loops, each with its own consumer) share one MNS queue: each holds half the
jobs, the other's messages are released to it, and no completion is lost. The safety-net poll is 300 s
away, so every job must end on its own message. The jobs end before the triggerers start, so the first
receive takes messages of both halves and must hand the other's back."""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any

from airflow_iprod.triggers import mns_consumer
from tests.conftest import wait_for
from tests.triggers.test_callbacks import (
    INTERVAL_ENV,
    callback_trigger,
    make_queue,
    mps_job,
    queries,
    run_trigger,
)


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
    results: dict[str, list[Any]] = {}
    consumers: dict[str, Any] = {}
    before = queries(handle)

    def triggerer(name: str) -> None:
        async def main() -> None:
            runs = [run_trigger(callback_trigger(j, conn, queue.queue_name)) for j in halves[name]]
            results[name] = await asyncio.wait_for(asyncio.gather(*runs), 150)
            [consumer] = mns_consumer._CONSUMERS[asyncio.get_running_loop()].values()
            await consumer.settled()
            consumers[name] = consumer

        asyncio.run(main())

    threads = [threading.Thread(target=triggerer, args=(name,)) for name in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    for name, own in halves.items():
        assert [events[0]["status"] for events in results[name]] == ["success"] * len(own)
        assert [events[0]["job_id"] for events in results[name]] == own
        assert consumers[name].deleted == len(own)  # each side deleted exactly its own messages
    assert sum(c.released for c in consumers.values()) >= 1  # a message crossed to the other side
    assert queries(handle) - before == len(jobs)  # one confirming Query per job: no safety-net poll
    with warnings.catch_warnings():  # the SDK marks the message counts as deprecated; MNS still has them
        warnings.simplefilter("ignore", DeprecationWarning)
        attributes = queue.get_attributes()
        assert attributes.active_messages + attributes.inactive_messages == 0
