"""Job completion callbacks: the outbox row a job's end leaves becomes one message in an MNS queue.

* MPS: a job submitted with ``NotifyUrl=mns://<host>/queues/<name>`` (host ``<account>.mns.<region>…`` or
  the ``….oss-<region>…`` form of the MPS reference; only the queue name matters here) gets the body the
  MPS IProduction reference shows for its callbacks: ``{"Code", "Details", "FunctionName", "JobId",
  "Message", "State", "Type": "IProduction"}``, plus ``UserData`` when the job has one (the reference
  says UserData is returned to the callback; its key there is our reading).
* ICE: every IProduction job's end goes to the account's ``SetEventCallback`` queue (CallbackType=MNS)
  when its EventTypeList names ``IProductionJobComplete`` or is empty. The cloud's event list shows no
  IProduction event we could read, so this event is the local engine's own, in the documented ICE
  envelope ``{"EventType", "UserId", "EventTime", "MessageBody": {...}}``.

Bodies are stored base64-encoded, as the official SDK sends a message (its receive decodes them). The
message lands in its queue and the outbox row leaves in one transaction: one message per job end, even
across an engine crash. A queue that does not exist is logged and the message dropped: a notification
is not part of the job's result. Fault injection may drop or delay callbacks (logged as injected).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.catalog import ValidationError
from airflow_iprod.local.faults import Faults
from airflow_iprod.local.job_store import SUCCESS, Job, JobStore, iso_time
from airflow_iprod.local.mns_store import EventCallback, MnsStore

ICE_EVENT_TYPE = "IProductionJobComplete"  # local-only event type (see the module docstring)
LOCAL_USER_ID = 1000000000000000  # ICE events carry the account's UID; the engine has none of its own
ICE_QUEUE_PREFIX = "ice-callback-"
QUEUE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,255}$")
IDLE_WAIT_S = 2.0  # the sender is woken when a job ends; this only bounds a missed wake-up


def _log_to_stderr(text: str) -> None:
    print(f"[iprod-callbacks] {text}", file=sys.stderr, flush=True)


def queue_of(notify_url: str) -> str:
    """The queue name an MPS NotifyUrl names (``mns://<host>/queues/<name>``)."""
    return notify_url.rsplit("/queues/", 1)[-1]


def mps_body(job: Job) -> dict[str, Any]:
    ok = job.status == SUCCESS
    body: dict[str, Any] = {
        "Code": "Success" if ok else (job.code or "InternalError"),
        "Details": [],
        "FunctionName": job.function_name,
        "JobId": job.job_id,
        "Message": "success" if ok else (job.message or ""),
        "State": job.status,
        "Type": "IProduction",
    }
    if job.request.get("UserData"):
        body["UserData"] = job.request["UserData"]
    return body


def ice_event(job: Job) -> dict[str, Any]:
    ok = job.status == SUCCESS
    message: dict[str, Any] = {
        "JobId": job.job_id,
        "Status": job.status,
        "FunctionName": job.function_name,
        "Name": job.request.get("Name"),
        "PipelineId": job.pipeline_id,
        "UserData": job.request.get("UserData"),
        "FinishTime": iso_time(job.finish_time),
        "ErrorCode": None if ok else job.code,
        "ErrorMessage": None if ok else job.message,
    }
    return {
        "EventType": ICE_EVENT_TYPE,
        "UserId": LOCAL_USER_ID,
        "EventTime": iso_time(job.finish_time or time.time()),
        "MessageBody": {k: v for k, v in message.items() if v is not None},
    }


def event_callback_from(params: dict[str, str]) -> EventCallback:
    """SetEventCallback's parameters, checked: only MNS callbacks can be delivered by the engine."""
    kind = params.get("CallbackType") or "MNS"
    if kind not in ("MNS", "HTTP"):
        raise ValidationError("CallbackType", kind, "MNS or HTTP")
    if kind == "HTTP":
        raise ValidationError(
            "CallbackType", kind, "MNS (the local engine delivers callbacks to its own MNS queues only)"
        )
    queue = params.get("CallbackQueueName") or ""
    if not (queue.startswith(ICE_QUEUE_PREFIX) and QUEUE_NAME.match(queue)):
        raise ValidationError(
            "CallbackQueueName",
            queue,
            f"an MNS queue name starting with {ICE_QUEUE_PREFIX!r} (letters, digits and hyphens)",
        )
    names = [n.strip() for n in (params.get("EventTypeList") or "").split(",") if n.strip()]
    for name in names:
        if not re.match(r"^[A-Za-z]+$", name):
            raise ValidationError(
                "EventTypeList", params["EventTypeList"], "event type names separated by commas"
            )
    return EventCallback("MNS", queue, params.get("CallbackURL"), tuple(names))


def event_callback_body(setting: EventCallback | None) -> dict[str, Any]:
    """GetEventCallback's answer (empty fields when nothing is set)."""
    if setting is None:
        return {}
    body = {
        "CallbackType": setting.callback_type,
        "CallbackQueueName": setting.queue_name,
        "CallbackURL": setting.callback_url,
        "EventTypeList": ",".join(setting.event_types),
        "AuthSwitch": setting.auth_switch,
        "AuthKey": setting.auth_key,
    }
    return {k: v for k, v in body.items() if v is not None}


class CallbackSender:
    """Turns outbox rows into queue messages on its own thread, woken by the job store."""

    def __init__(
        self,
        jobs: JobStore,
        store: MnsStore,
        faults: Faults,
        log: Callable[[str], None] = _log_to_stderr,
    ) -> None:
        self.jobs = jobs
        self.store = store
        self.faults = faults
        self._log = log
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settling = threading.Lock()  # one settling round at a time (the thread, or a direct call)
        self.delivered = 0  # messages stored (tests, diagnostics)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="iprod-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self, _job_id: str | None = None) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = IDLE_WAIT_S
            try:
                wait = min(wait, self.deliver_due())
            except Exception as err:  # keep the thread alive; the row stays and is tried again
                self._log(f"delivering callbacks failed: {type(err).__name__}: {err}")
            self._wake.wait(timeout=max(0.01, wait))

    def deliver_due(self) -> float:
        """Settle every outbox row that is due; seconds until the next delayed one (or the idle wait)."""
        delay = self.faults.callback_delay_s()
        now, wait = time.time(), IDLE_WAIT_S
        with self._settling:
            for job_id, ended in self.store.pending_callbacks():
                if self._stop.is_set():
                    break
                if ended + delay > now:
                    wait = min(wait, ended + delay - now)
                    continue
                self._settle(job_id)
        return wait

    def _settle(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        target = self._target(job) if job is not None else None
        if target is None:
            self.store.settle_callback(job_id, None, None)
            return
        queue, body = target
        if self.faults.drop_callback(job_id, queue):
            self.store.settle_callback(job_id, None, None)
            return
        text = base64.b64encode(json.dumps(body, ensure_ascii=False).encode("utf-8")).decode("ascii")
        if self.store.settle_callback(job_id, queue, text):
            self.delivered += 1
        elif not self.store.exists(queue):
            self._log(
                f"job {job_id}: callback queue {queue!r} does not exist; its completion message is dropped "
                "(the job itself is unaffected)"
            )

    def _target(self, job: Job) -> tuple[str, dict[str, Any]] | None:
        if job.api == catalog.MTS:
            url = job.request.get("NotifyUrl")
            return (queue_of(url), mps_body(job)) if url else None
        setting = self.store.event_callback()
        if setting is None or setting.callback_type != "MNS" or not setting.queue_name:
            return None
        if setting.event_types and ICE_EVENT_TYPE not in setting.event_types:
            return None
        return setting.queue_name, ice_event(job)
