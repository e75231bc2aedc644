"""``python -m airflow_iprod.cli``: the same as the ``airflow-iprod`` script."""

from __future__ import annotations

import sys

from airflow_iprod.cli import main

if __name__ == "__main__":
    sys.exit(main())
