"""How long a job's input plays, read from its container header with ranged reads (no download).

Used only to estimate when a job should end (:mod:`airflow_iprod.catalog.speeds`), so every failure
(no PyAV on this worker, an object the connection cannot read, an unknown format) means "unknown", never
an error: the trigger then polls every ``poll_interval`` as it always did.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_iprod import catalog

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook

log = logging.getLogger(__name__)


def input_seconds(hook: IProductionHook, request: catalog.SubmitRequest) -> float | None:
    """The input's duration in seconds, or None when it is not an OSS audio/video file or cannot be read."""
    spec = catalog.spec_for(request.function_name, request.api)
    if spec.input_kind not in ("audio", "video") or not request.input or request.input_type != "OSS":
        return None
    try:
        import av  # the container parser; PyAV comes with the local engine's extra
    except ImportError:
        return None
    try:
        bucket, key = catalog.split_oss_url(request.input)
        with hook.oss_client().open_file(bucket, key) as handle, av.open(_Seekable(handle)) as container:
            if container.duration:
                return container.duration / 1_000_000  # av.time_base
            durations = [float(s.duration * s.time_base) for s in container.streams if s.duration]
            return max(durations) if durations else None
    except Exception as err:  # an estimate only: never fail or delay the task for it
        log.debug("Could not read the duration of %s: %s", request.input, err)
        return None


class _Seekable:
    """The OSS SDK's ranged-read file, with the ``seekable()`` PyAV asks for before seeking."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def seekable(self) -> bool:
        return True
