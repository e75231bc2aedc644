"""The dynamic-mapping example: one job per object under a prefix, outputs named after the inputs."""

from __future__ import annotations

import importlib.util

import pytest

from tests.airflow_env import REPO

pytestmark = pytest.mark.slow


def test_one_job_per_object(run_dag, local_engine, make_conn, upload, noisy_wav):
    conn = make_conn(local_engine, "iprod_mapping")
    for name in ("a.wav", "b.wav", "notes.txt"):
        upload(noisy_wav if name.endswith(".wav") else b"not audio", f"inbox-map/{name}")
    spec = importlib.util.spec_from_file_location("map_over_prefix", REPO / "dags" / "map_over_prefix.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = local_engine.engine.jobs.count()
    dag_run = run_dag(
        module.dag, conn_id=conn, input_prefix="oss://media/inbox-map/", output_prefix="oss://media/done-map"
    )
    assert dag_run.state == "success", [
        (t.task_id, t.map_index, t.state) for t in dag_run.get_task_instances()
    ]
    runs = [t for t in dag_run.get_task_instances() if t.task_id == "run"]
    assert sorted(t.map_index for t in runs) == [0, 1]
    assert local_engine.engine.jobs.count() - before == 2  # the .txt was filtered out
    for name in ("a", "b"):
        assert local_engine.engine.objects.head("media", f"done-map/{name}.wav").size > 10_000
