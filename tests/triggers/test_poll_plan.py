"""The poll plan: sparse while a job cannot be done, every poll_interval once it may be."""

from __future__ import annotations

import itertools

import pytest

from airflow_iprod.triggers.poll_plan import (
    EARLY_SHARE,
    MAX_EARLY_INTERVAL,
    next_poll_at,
    next_safety_poll_at,
    worth_polling_before,
)


def _polls(submitted: float, expected: float, until: float, interval: float = 10.0) -> list[float]:
    times, now = [], submitted
    while now < until:
        now = next_poll_at(now, interval, submitted, expected)
        times.append(now)
    return times


def test_without_an_estimate_every_poll_interval():
    assert next_poll_at(100.0, 10.0) == 110.0
    assert next_poll_at(100.0, 10.0, submitted_at=0.0, expected_s=None) == 110.0


def test_a_long_job_is_asked_rarely_then_closely_near_its_expected_end():
    polls = _polls(0.0, 600.0, 700.0)
    before = [t for t in polls if t < 600.0 - 10.0]
    assert polls[0] == pytest.approx(EARLY_SHARE * 600.0)
    assert len(before) <= 30  # against 59 at a fixed 10 s
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert all(g >= 10.0 - 1e-9 for g in gaps) and all(g <= MAX_EARLY_INTERVAL for g in gaps)
    after = [b - a for a, b in itertools.pairwise(polls) if a >= 600.0]
    assert after and all(g == pytest.approx(10.0) for g in after)


@pytest.mark.parametrize("ends_at", [0.5, 0.8, 1.0, 1.25, 2.0])
def test_a_job_is_noticed_within_the_share_of_its_length_it_missed(ends_at):
    expected, interval = 300.0, 10.0
    end = ends_at * expected
    polls = _polls(0.0, expected, end + 2 * MAX_EARLY_INTERVAL, interval)
    noticed = next(t for t in polls if t >= end)
    bound = max(interval, EARLY_SHARE * max(expected - end, 0.0)) + 1e-6
    assert noticed - end <= bound


def test_hours_long_jobs_are_still_asked_every_five_minutes():
    polls = _polls(0.0, 10 * 3600.0, 3600.0)
    assert max(b - a for a, b in itertools.pairwise(polls)) == MAX_EARLY_INTERVAL


def test_worker_polls_only_for_jobs_that_may_be_done_that_soon():
    assert worth_polling_before(None, 3.0)
    assert worth_polling_before(2.5, 3.0)
    assert not worth_polling_before(60.0, 3.0)


def test_safety_net_without_an_estimate_every_interval():
    assert next_safety_poll_at(100.0, 300.0) == 400.0
    assert next_safety_poll_at(100.0, 300.0, submitted_at=0.0, expected_s=0.0) == 400.0


def test_safety_net_waits_for_the_expected_end_then_every_interval():
    # a 20-minute job: no Query until one interval after its expected end (its message cannot be lost
    # before it ends); an overdue job is asked every interval
    assert next_safety_poll_at(10.0, 300.0, submitted_at=0.0, expected_s=1200.0) == 1500.0
    assert next_safety_poll_at(1500.0, 300.0, submitted_at=0.0, expected_s=1200.0) == 1800.0
    # a job shorter than the interval: the interval still bounds the rate
    assert next_safety_poll_at(5.0, 300.0, submitted_at=0.0, expected_s=30.0) == 330.0
