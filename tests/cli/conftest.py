"""The CLI tests reuse the provider tests' Airflow setup: importing tests/provider/conftest.py sets
AIRFLOW_HOME and friends before anything imports Airflow, and these fixtures apply here too."""

from __future__ import annotations

from tests.provider.conftest import make_conn, noisy_wav

__all__ = ["make_conn", "noisy_wav"]
