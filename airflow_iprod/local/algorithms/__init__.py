"""Algorithms the local engine really runs, found by module name.

``SpeechDenoise`` lives in ``speech_denoise.py`` and so on; a FunctionName whose module is absent is
refused at Submit as not available locally, never faked.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from typing import Any

from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext


def module_name(function_name: str) -> str:
    """``AudioQualityAssessment`` -> ``audio_quality_assessment``; ``VideoH2V`` -> ``video_h2v``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z0-9])", "_", function_name).lower()


def is_available(function_name: str) -> bool:
    return importlib.util.find_spec(f"{__name__}.{module_name(function_name)}") is not None


def check_params(function_name: str, params: dict[str, Any]) -> None:
    """Refuse at Submit what the local engine cannot serve (e.g. ASR in Chinese).

    An algorithm module opts in by defining a cheap ``check_params(params)`` that raises
    ``UnsupportedOption`` (an option only the cloud serves) or ``AlgorithmError`` (a value it cannot
    use); the catalog has already checked the documented rules.
    """
    module = importlib.import_module(f"{__name__}.{module_name(function_name)}")
    check = getattr(module, "check_params", None)
    if check is not None:
        check(params)


def load(function_name: str) -> Callable[[JobContext], AlgorithmResult]:
    module = importlib.import_module(f"{__name__}.{module_name(function_name)}")
    return module.run
