"""When to poll a job next. Polling: the closer it is to its expected end, the more often; once due, every
``poll_interval``.

Pure arithmetic on epoch seconds, so it is the same after a triggerer restart. Before the expected end a
job waits a fixed share of the time still expected (a 10-minute job is asked after 90 s, then
after ~77 s more, ...), never less than ``poll_interval`` and never more than ``MAX_EARLY_INTERVAL``: the
few early polls catch early failures, and most of the Queries go where a job is likely to end. Under a
tight budget the scheduler serves the earliest due poll first, so due jobs are not crowded out.
"""

from __future__ import annotations

# Share of the time left before the expected end to wait before asking again. A job that ends before
# its estimate (the estimates come from the local engine's benchmarks; the cloud's machines differ) is
# noticed at most about this share of its run time late.
EARLY_SHARE = 0.15
# ... and never wait longer than this before asking.
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
    left = submitted_at + expected_s - now
    if left <= poll_interval:
        return now + poll_interval
    return now + min(max(poll_interval, EARLY_SHARE * left), MAX_EARLY_INTERVAL)


def worth_polling_before(expected_s: float | None, seconds: float) -> bool:
    """Whether a job expected to take ``expected_s`` may be done within ``seconds`` of its submit."""
    return expected_s is None or expected_s * (1 - EARLY_SHARE) <= seconds


def next_safety_poll_at(
    now: float,
    interval: float,
    submitted_at: float | None = None,
    expected_s: float | None = None,
) -> float:
    """Epoch seconds of callback mode's next safety-net Query of a job that is not finished at ``now``.

    The safety net only catches a lost message, and a job's message cannot be lost before the job ends:
    with an estimate, the first one comes ``interval`` after the expected end, then every ``interval``.
    So a thousand waiting jobs cost a Query each only once they are overdue, not every ``interval``.
    """
    if submitted_at is None or expected_s is None or expected_s <= 0:
        return now + interval
    return max(now + interval, submitted_at + expected_s + interval)
