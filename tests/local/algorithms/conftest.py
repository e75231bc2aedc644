"""Run one algorithm's ``run(ctx)`` in-process on generated media, outputs in a temp dir."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_iprod import catalog
from airflow_iprod.local import algorithms
from airflow_iprod.local.algorithms.base import AlgorithmResult, JobContext, OutputTarget

BUCKET = "test-bucket"


@pytest.fixture
def run_algorithm(tmp_path: Path) -> Callable[..., AlgorithmResult]:
    """``run_algorithm("SpeechDenoise", input_path, params={...})`` -> AlgorithmResult.

    ``params`` first pass the catalog's Submit rules and the module's ``check_params``, as at Submit in
    the engine, so ``run`` sees the same normalised JobParams as in production; a refusal raises the
    catalog's ValidationError (or the module's AlgorithmError / UnsupportedOption).
    Output files land in ``tmp_path / "out"`` named after their sequence id / result type, so a test
    can open ``result.outputs[i].path`` directly. The test's ``tmp_path`` is the object store's
    bucket: ``oss://test-bucket/extra.wav`` in a JobParams URL is ``tmp_path / "extra.wav"``.
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
        # The engine's Submit rules: FunctionName for the API, ModelId, then the JobParams normalised.
        normalised = catalog.SubmitRequest(
            api=api,
            function_name=function_name,
            job_params=params,
            input=f"oss://{BUCKET}/input",
            output=f"oss://{BUCKET}/out/output-{{sequenceId}}-{{resultType}}",
            model_id=model_id,
        ).params
        algorithms.check_params(function_name, normalised)
        out_dir = tmp_path / "out"
        out_dir.mkdir(exist_ok=True)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)

        def new_output(
            sequence_id: int | None = None, result_type: str | None = None, ext: str | None = None
        ) -> OutputTarget:
            stem = "-".join(str(p) for p in ("output", sequence_id, result_type) if p is not None)
            path = out_dir / f"{stem}{ext or ''}"
            return OutputTarget(path, f"oss://{BUCKET}/out/{path.name}", sequence_id, result_type)

        def fetch(url: str) -> Path:
            bucket, key = catalog.split_oss_url(url)
            assert bucket == BUCKET, f"{url}: tests keep their objects in oss://{BUCKET}/"
            return tmp_path / key

        ctx = JobContext(
            function_name=function_name,
            api=api,
            input_path=Path(input_path),
            params=normalised,
            model_id=model_id,
            workdir=work,
            new_output=new_output,
            fetch=fetch,
            threads=2,
        )
        result = algorithms.load(function_name)(ctx)
        shutil.rmtree(work, ignore_errors=True)
        return result

    return _run
