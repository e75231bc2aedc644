"""``python -m airflow_iprod.local [--port ...]``: same as ``airflow-iprod local start``.

SIGTERM/SIGINT handlers go in before anything else is imported, so a signal sent right after the
process starts still ends in a clean stop (exit 0).
"""

from __future__ import annotations

import signal
import sys
import threading

_stop = threading.Event()
for _sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_sig, lambda *_: _stop.set())

from airflow_iprod.cli import local as _local_cli  # noqa: E402 - after the handlers, on purpose
from airflow_iprod.cli import main  # noqa: E402

if __name__ == "__main__":
    _local_cli.early_stop = _stop
    sys.exit(main(["local", "start", *sys.argv[1:]]))
