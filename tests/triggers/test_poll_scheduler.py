"""The Query scheduler on its own: earliest due first under a tight budget, nobody starves, one Query
per key, and requests nobody waits for are never sent. ``fetch`` stands in for the network only."""

from __future__ import annotations

import asyncio
import time

from airflow_iprod.triggers.poll_scheduler import PollScheduler
from airflow_iprod.triggers.rate_limit import QueryBudget


def _recorder(log: list[str], name: str):
    async def fetch() -> dict:
        log.append(name)
        return {"name": name}

    return fetch


async def test_earliest_due_first_and_every_key_served():
    scheduler = PollScheduler(QueryBudget(50.0))
    log: list[str] = []
    now = time.time()
    # 30 jobs all overdue by different amounts, asked in reverse order of due time
    await asyncio.gather(
        *(scheduler.query(f"job-{i}", now - i, _recorder(log, f"job-{i}")) for i in range(30))
    )
    assert log == [f"job-{i}" for i in reversed(range(30))]  # most overdue first, all served


async def test_waiters_on_one_key_share_one_fetch_and_the_earlier_due_wins():
    scheduler = PollScheduler(QueryBudget(50.0))
    log: list[str] = []
    now = time.time()
    late = asyncio.ensure_future(scheduler.query("same", now + 5.0, _recorder(log, "a")))
    await asyncio.sleep(0)
    early = asyncio.ensure_future(scheduler.query("same", now + 0.05, _recorder(log, "b")))
    answers = await asyncio.wait_for(asyncio.gather(late, early), timeout=2.0)
    assert log == ["a"] and answers == [{"name": "a"}, {"name": "a"}]
    assert scheduler.sent == 1 and scheduler.shared == 1


async def test_a_request_nobody_waits_for_is_dropped_before_it_is_sent():
    scheduler = PollScheduler(QueryBudget(50.0))
    log: list[str] = []
    waiter = asyncio.ensure_future(scheduler.query("gone", time.time() + 0.2, _recorder(log, "gone")))
    await asyncio.sleep(0.05)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await scheduler.query("kept", time.time(), _recorder(log, "kept"))
    await asyncio.sleep(0.3)
    assert log == ["kept"]


async def test_under_a_tight_budget_polls_are_paced_and_nobody_starves():
    """Demand of 40 keys asking again as soon as answered, budget 20/s for 1.5 s: every key served in
    turn (each at most once more than any other), never more than 20 starts in a second."""
    scheduler = PollScheduler(QueryBudget(20.0))
    served: dict[str, int] = {}
    starts: list[float] = []

    async def loop(key: str, end: float) -> None:
        async def fetch() -> dict:
            starts.append(time.monotonic())
            served[key] = served.get(key, 0) + 1
            return {}

        while time.monotonic() < end:
            await scheduler.query(key, time.time(), fetch)

    end = time.monotonic() + 1.5
    await asyncio.gather(*(loop(f"k{i}", end) for i in range(40)))
    assert max(served.values()) - min(served.values()) <= 1
    assert len(served) == 40
    window = [sum(1 for t in starts if s <= t < s + 1.0) for s in starts]
    assert max(window) <= 20


async def test_a_failed_fetch_reaches_every_waiter():
    scheduler = PollScheduler(QueryBudget(50.0))

    async def broken() -> dict:
        raise ConnectionResetError("peer went away")

    results = await asyncio.gather(
        *(scheduler.query("x", time.time(), broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionResetError) for r in results)
