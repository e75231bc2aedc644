"""What the job service refuses, in its own terms; the RPC edge (``rpc_errors``) picks the wire code.

``str(err)`` is the message for the client: it names the field, the value and why it cannot be used.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the job service refuses."""


class InvalidRequest(ServiceError, ValueError):
    """A value the catalog accepts but this engine cannot use: an unknown media ID, a missing object,
    an input of the wrong kind, an output bucket that does not exist."""


class NotAvailableLocally(ServiceError):
    """The cloud serves this, the local engine does not (an algorithm or one of its options)."""


class JobNotFound(ServiceError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"JobId={job_id!r} does not exist.")
        self.job_id = job_id


class MediaNotFound(ServiceError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"MediaId={ref!r}: no such media asset.")
        self.ref = ref
