"""Algorithms the local engine really runs, found by module name.

``SpeechDenoise`` lives in ``speech_denoise.py`` and so on; a FunctionName whose module is absent is
refused at Submit as not available locally, never faked.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable

from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext


def module_name(function_name: str) -> str:
    """``AudioQualityAssessment`` -> ``audio_quality_assessment``; ``VideoH2V`` -> ``video_h2v``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z0-9])", "_", function_name).lower()


def is_available(function_name: str) -> bool:
    return importlib.util.find_spec(f"{__name__}.{module_name(function_name)}") is not None


def load(function_name: str) -> Callable[[JobContext], AlgorithmResult]:
    module = importlib.import_module(f"{__name__}.{module_name(function_name)}")
    return module.run
