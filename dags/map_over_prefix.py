"""Run one IProduction algorithm over every object under an OSS prefix (dynamic task mapping).

    list_inputs ──> plan ──> run[0..n] (one IProductionJobOperator per object) ──> summarize

``plan`` names each output after its input (``{source}``) under ``output_prefix``, with the
algorithm's own extension (and its required ``{sequenceId}`` / ``{resultType}`` placeholder), so
the mapped jobs never overwrite each other. Inputs are filtered by extension.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_iprod.operators.iproduction import IProductionJobOperator

CONN_ID = os.environ.get("IPROD_CONN_ID", "iprod_local")
# seconds between status queries; a cloud job takes minutes, the local engine's seconds
POLL_S = float(os.environ.get("IPROD_POLL_INTERVAL", "2"))

with DAG(
    dag_id="iprod_map_over_prefix",
    description="One IProduction job per object under an OSS prefix",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["iprod", "example"],
    params={
        "conn_id": Param(CONN_ID, type="string"),
        "function_name": Param("SpeechDenoise", type="string", description="catalog FunctionName"),
        "input_prefix": Param("oss://media/inbox/", type="string", description="oss://bucket/prefix/"),
        "extensions": Param([".wav"], type="array", description="input name endings to take"),
        "output_prefix": Param("oss://media/processed", type="string"),
        "job_params": Param({}, type="object"),
    },
    doc_md=__doc__,
) as dag:

    @task
    def list_inputs(params: dict[str, Any] | None = None) -> list[str]:
        import alibabacloud_oss_v2 as oss

        from airflow_iprod.hooks.iproduction import IProductionHook

        assert params is not None
        url = params["input_prefix"]
        bucket, _, prefix = url.removeprefix("oss://").partition("/")
        client = IProductionHook(params["conn_id"]).oss_client()
        keys: list[str] = []
        for page in client.list_objects_v2_paginator().iter_page(
            oss.ListObjectsV2Request(bucket=bucket, prefix=prefix)
        ):
            keys += [o.key for o in page.contents or []]
        ends = tuple(e.lower() for e in params["extensions"])
        return [f"oss://{bucket}/{k}" for k in sorted(keys) if k.lower().endswith(ends)]

    @task
    def plan(inputs: list[str], params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from airflow_iprod import catalog

        assert params is not None
        spec = catalog.spec_for(params["function_name"], catalog.ICE)
        hole = f"-{{{spec.placeholder}}}" if spec.placeholder else ""
        output = f"{params['output_prefix'].rstrip('/')}/{{source}}{hole}{spec.output_ext or ''}"
        return [{"input": url, "output": output if spec.output_ext else None} for url in inputs]

    run = IProductionJobOperator.partial(
        task_id="run",
        function_name="{{ params.function_name }}",
        api="ice",
        conn_id="{{ params.conn_id }}",
        job_params="{{ params.job_params | tojson }}",
        poll_interval=POLL_S,
        map_index_template="{{ task.input }}",
    ).expand_kwargs(plan(list_inputs()))

    @task
    def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
        outputs = {r["JobId"]: r["Outputs"] for r in results}
        print(f"{len(results)} jobs, outputs: {outputs}")
        return {"jobs": len(results), "outputs": outputs}

    summarize(run.output)


if __name__ == "__main__":
    dag.test()
