"""A real DAG run on the local engine records each job's output files as asset events in Airflow's DB,
through the task's output alias and the outlets the DAG declared, and queues the DAG scheduled on them."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.airflow_env import REPO

pytestmark = pytest.mark.slow


def _asset_dags() -> Any:
    path = REPO / "tests/dag_files/iprod_asset_dags.py"
    spec = importlib.util.spec_from_file_location("iprod_asset_dags", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sync_and_unpause(dag_id: str) -> None:
    """Write the test bundle's DAGs to the DB (as dag.test() does) and unpause ``dag_id``: asset events
    queue runs only for unpaused DAGs."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = manager.get_bundle("iprod-tests")
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = False


def _result(dag_run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .one()
        )
        return XComModel.deserialize_value(row)


def test_outputs_become_asset_events(run_dag, local_engine, upload, iprod_conn, noisy_wav):
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    dags = _asset_dags()
    _sync_and_unpause(dags.CONSUMER)
    src = upload(noisy_wav, "asset-tests/in/talk.wav")
    dag_run = run_dag(dags.producer, conn=iprod_conn, src=src, out="oss://media/asset-tests/second")
    assert dag_run.state == "success", [(t.task_id, t.state) for t in dag_run.get_task_instances()]
    first, second = _result(dag_run, "denoise"), _result(dag_run, "again")
    assert first["Outputs"] == [f"{dags.DECLARED}/talk-clean.wav"]
    assert second["Outputs"] == ["oss://media/asset-tests/second/talk-clean-2.wav"]

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .filter_by(source_dag_id=dags.PRODUCER, source_run_id=dag_run.run_id)
            .order_by(AssetEvent.id)
            .all()
        )
        seen = {
            (e.source_task_id, e.asset.uri): (e.extra, sorted(a.name for a in e.source_aliases))
            for e in events
        }
        queued = [
            (q.asset.uri, q.target_dag_id)
            for q in session.query(AssetDagRunQueue).filter_by(target_dag_id=dags.CONSUMER)
        ]
        active = {m.uri for m in session.query(AssetModel).filter(AssetModel.uri.like("oss://%"))}

    job = {"FunctionName": "SpeechDenoise", "Api": "ice", "conn_id": iprod_conn}
    assert seen == {
        # each output file, through the task's own alias, with the job that wrote it
        ("denoise", first["Output"]): ({"JobId": first["JobId"], **job}, [f"iprod/{dags.PRODUCER}/denoise"]),
        ("again", second["Output"]): ({"JobId": second["JobId"], **job}, [f"iprod/{dags.PRODUCER}/again"]),
        # the declared folder outlet: Airflow's own event, with the job and the files written under it
        ("denoise", dags.DECLARED): ({"JobId": first["JobId"], **job, "Outputs": first["Outputs"]}, []),
        # declared but not written by the job (the task logs a warning)
        ("again", dags.DECLARED): ({"JobId": second["JobId"], **job, "Outputs": []}, []),
    }
    assert {first["Output"], second["Output"], dags.DECLARED} <= active
    # the consumer, scheduled on the first task's alias, is queued by that task's output file
    assert (first["Output"], dags.CONSUMER) in queued
