"""Run one algorithm's ``run(ctx)`` in-process on generated media, outputs in a temp dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_iprod.local.algorithms import load
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext, OutputTarget


@pytest.fixture
def run_algorithm(tmp_path: Path) -> Callable[..., AlgorithmResult]:
    """``run_algorithm("SpeechDenoise", input_path, params={...})`` -> AlgorithmResult.

    Output files land in ``tmp_path / "out"`` named after their sequence id / result type, so a test
    can open ``result.outputs[i].path`` directly. ``fetch`` maps ``file://`` or bare paths to disk.
    """

    def _run(
        function_name: str,
        input_path: Path,
        params: dict[str, Any] | None = None,
        *,
        model_id: str | None = None,
        ext: str = "",
        api: str = "ice",
    ) -> AlgorithmResult:
        out_dir = tmp_path / "out"
        out_dir.mkdir(exist_ok=True)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)

        def new_output(
            sequence_id: int | None = None, result_type: str | None = None, ext: str | None = None
        ) -> OutputTarget:
            stem = "-".join(str(p) for p in ("output", sequence_id, result_type) if p is not None)
            path = out_dir / f"{stem}{ext or ''}"
            return OutputTarget(path, f"oss://test-bucket/out/{path.name}", sequence_id, result_type)

        def fetch(url: str) -> Path:
            return Path(url.removeprefix("file://"))

        ctx = JobContext(
            function_name=function_name,
            api=api,
            input_path=Path(input_path),
            params=dict(params or {}),
            model_id=model_id,
            workdir=work,
            new_output=new_output,
            fetch=fetch,
            threads=2,
        )
        result = load(function_name)(ctx)
        shutil.rmtree(work, ignore_errors=True)
        return result

    return _run
