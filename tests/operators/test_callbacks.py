"""Callback mode in real DAG runs (``dag.test()``: the task runner, the deferral and the trigger in-line)
on a local engine: MPS and ICE jobs end on their MNS message, the sensor waits the same way, and what
callback mode cannot work with is refused before any job is submitted."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import QueueMeta
from PIL import Image

from airflow_iprod.catalog import ValidationError
from tests.conftest import EngineHandle, submit_to, upload_to

pytestmark = pytest.mark.slow


def _ti(dag_run: Any, task_id: str) -> Any:
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)


def _queue(handle: EngineHandle) -> Any:
    account = Account(f"http://{handle.endpoint}", handle.access_key_id, handle.access_key_secret)
    queue = account.get_queue("ice-callback-" + uuid.uuid4().hex[:10])  # ICE's name rule; MPS takes any
    queue.create(QueueMeta())
    return queue


def _set_ice_callback(handle: EngineHandle, queue: str) -> None:
    request = ice_models.SetEventCallbackRequest(callback_type="MNS", callback_queue_name=queue)
    assert handle.ice().set_event_callback(request).body.success


def _png(handle: EngineHandle, key: str) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 20, 200)).save(buf, "PNG")
    return upload_to(handle, buf.getvalue(), key)


def _queries(handle: EngineHandle) -> int:
    return handle.engine.stats.actions["QueryIProductionJob"]


def _assert_empty(queue: Any) -> None:
    with pytest.raises(MNSServerException) as info:
        queue.receive_message(0)
    assert info.value.type == "MessageNotExist"


def test_a_dag_completes_on_callbacks(run_dag, make_engine, make_conn, noisy_wav, monkeypatch):
    """The safety net is 300 s away: the tasks can only end on their messages, one Query each."""
    monkeypatch.setenv("AIRFLOW__IPROD__CALLBACK_POLL_INTERVAL", "300")
    handle = make_engine()
    queue = _queue(handle)
    _set_ice_callback(handle, queue.queue_name)
    conn = make_conn(handle, "iprod_cb_dag", callback_queue=queue.queue_name)
    conf = dict(
        conn=conn,
        png=_png(handle, "cbdag/still.png"),
        wav=upload_to(handle, noisy_wav, "cbdag/talk.wav"),
        out="oss://media/cbdag",
    )
    before = _queries(handle)
    dag_run = run_dag("iprod_test_callbacks", **conf)
    assert dag_run.state == "success", [(t.task_id, t.state) for t in dag_run.get_task_instances()]
    jobs = {job.api: job for job in (handle.engine.jobs.get(j) for j in _job_ids(handle))}
    assert set(jobs) == {"mts", "ice"} and all(j.status == "Success" for j in jobs.values())
    # MPS: the operator named the queue in NotifyUrl, in the documented host form.
    assert jobs["mts"].request["NotifyUrl"] == (
        f"mns://local.mns.cn-shanghai.aliyuncs.com/queues/{queue.queue_name}"
    )
    # One confirming Query per job in the triggerer; no polls before deferring (expected_duration=60).
    assert _queries(handle) - before <= 2
    _assert_empty(queue)  # both messages were consumed and deleted after the confirmation


def _job_ids(handle: EngineHandle) -> list[str]:
    return [r[0] for r in handle.engine.jobs._conn().execute("SELECT job_id FROM jobs").fetchall()]


def test_the_sensor_waits_on_callbacks(run_dag, make_engine, make_conn, noisy_wav, monkeypatch):
    monkeypatch.setenv("AIRFLOW__IPROD__CALLBACK_POLL_INTERVAL", "300")
    handle = make_engine()
    queue = _queue(handle)
    _set_ice_callback(handle, queue.queue_name)
    conn = make_conn(handle, "iprod_cb_sensor")  # the queue comes from the task's argument here
    wav = upload_to(handle, noisy_wav, "cbsensor/talk.wav")
    job_id = submit_to(handle.ice(), "ice", "SpeechDenoise", wav, "oss://media/cbsensor/{source}.wav")
    before = _queries(handle)
    dag_run = run_dag("iprod_test_callbacks_sensor", conn=conn, job_id=job_id, queue=queue.queue_name)
    assert dag_run.state == "success"
    assert _queries(handle) - before == 1
    _assert_empty(queue)


def test_ice_without_the_event_callback_fails_before_submitting(run_dag, make_engine, make_conn, noisy_wav):
    handle = make_engine()
    queue = _queue(handle)  # exists, but SetEventCallback was never run
    conn = make_conn(handle, "iprod_cb_unset", callback_queue=queue.queue_name)
    op = _operator("SpeechDenoise", conn, upload_to(handle, noisy_wav, "unset/talk.wav"))
    with pytest.raises(ValidationError) as info:
        op._callback_request(op._build_request(op._request_fields()))
    text = str(info.value)
    assert queue.queue_name in text and "SetEventCallback" in text and "CallbackType=MNS" in text
    assert handle.engine.jobs.count() == 0


def test_what_callback_mode_cannot_use_is_refused_clearly(make_engine, make_conn, noisy_wav):
    from airflow_iprod.operators.iproduction import IProductionJobOperator
    from airflow_iprod.triggers import mns_setup

    with pytest.raises(ValidationError, match="wait_mode='events' is not valid: poll or callback"):
        IProductionJobOperator(task_id="t", function_name="SpeechDenoise", wait_mode="events")
    with pytest.raises(ValidationError, match="deferrable=False"):
        IProductionJobOperator(
            task_id="t", function_name="SpeechDenoise", wait_mode="callback", deferrable=False
        )
    handle = make_engine()
    conn = make_conn(handle, "iprod_cb_noqueue")  # no callback_queue extra and no argument
    with pytest.raises(ValidationError, match="callback_queue=None is not valid"):
        _operator("SpeechDenoise", conn, "oss://media/x.wav")._callback_request(None)  # type: ignore[arg-type]
    cloud = make_conn(handle, "iprod_cb_cloud", endpoint="ice.cn-shanghai.aliyuncs.com", callback_queue="q")
    op = _operator("SpeechDenoise", cloud, "oss://media/x.wav")
    with pytest.raises(ValidationError, match="mns_endpoint=None is not valid"):
        mns_setup.queue_address(op.hook.settings(), "q")
    # A cloud MNS endpoint gives the documented NotifyUrl host.
    mns = make_conn(handle, "iprod_cb_mns", mns_endpoint="https://1234.mns.cn-beijing.aliyuncs.com")
    settings = _operator("SpeechDenoise", mns, "oss://media/x.wav").hook.settings()
    assert mns_setup.notify_url(settings, "jobs") == "mns://1234.mns.cn-beijing.aliyuncs.com/queues/jobs"


def _operator(function_name: str, conn: str, src: str) -> Any:
    from airflow_iprod.operators.iproduction import IProductionJobOperator

    return IProductionJobOperator(
        task_id=f"cb_{uuid.uuid4().hex[:6]}",
        function_name=function_name,
        conn_id=conn,
        input=src,
        output="oss://media/cb/{source}-out.wav",
        wait_mode="callback",
    )
