"""When to poll a job next: sparsely while it cannot be done yet, every ``poll_interval`` once it may be.

Pure arithmetic on epoch seconds, so it is the same after a triggerer restart. Under a tight Query
budget the scheduler serves the earliest due poll first, so a job in its window (due every
``poll_interval``) is not crowded out by long jobs that are polled every few minutes.
"""

from __future__ import annotations

# A job is watched closely from this share of its expected run time on: estimates come from the local
# engine's benchmarks and the cloud's machines differ, so the window opens well before the estimate.
WINDOW_OPENS_AT = 0.6
# Before the window: a slow poll now and then catches early failures (bad media, quota) ...
EARLY_SHARE = 0.25
# ... but never rarer than this.
MAX_EARLY_INTERVAL = 300.0


def next_poll_at(
    now: float,
    poll_interval: float,
    submitted_at: float | None = None,
    expected_s: float | None = None,
) -> float:
    """Epoch seconds of the next Query of a job that is not finished at ``now``."""
    if submitted_at is None or expected_s is None or expected_s <= 0:
        return now + poll_interval
    window = submitted_at + WINDOW_OPENS_AT * expected_s
    if now >= window - poll_interval:
        return now + poll_interval
    early = min(max(poll_interval, EARLY_SHARE * expected_s), MAX_EARLY_INTERVAL)
    return min(window, now + early)
