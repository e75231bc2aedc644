"""AsyncTextToSpeech (MPS): the same espeak-ng synthesis as TextToSpeech.

In the cloud the two differ in how the call is served; every local job is asynchronous anyway, so
the JobParams, output and Result are the same.
"""

from __future__ import annotations

from airflow_iprod.local.algorithms.text_to_speech import check_params, run

__all__ = ["check_params", "run"]
