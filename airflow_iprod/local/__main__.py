"""``python -m airflow_iprod.local [--port ...]``: same as ``airflow-iprod local start``."""

from __future__ import annotations

import sys

from airflow_iprod.cli import main

if __name__ == "__main__":
    sys.exit(main(["local", "start", *sys.argv[1:]]))
