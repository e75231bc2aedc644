"""Callback mode's setup, checked in the worker before a job is submitted: which queue, at which MNS
endpoint, the MPS ``NotifyUrl`` that names it, and whether ICE's account-wide event callback points at it.

No SDK import at module top: the operator and the sensor import this lazily, at execute time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_iprod import catalog
from airflow_iprod.triggers.mns_consumer import QueueAddress

if TYPE_CHECKING:
    from airflow_iprod.client_settings import ClientSettings
    from airflow_iprod.hooks.iproduction import IProductionHook

WAIT_MODES = ("poll", "callback")
ICE_EVENT_TYPE = "IProductionJobComplete"  # the local engine's own ICE event (see the README)


def check_wait_mode(wait_mode: Any, deferrable: Any) -> None:
    if wait_mode not in WAIT_MODES:
        raise catalog.ValidationError("wait_mode", wait_mode, " or ".join(WAIT_MODES))
    if wait_mode == "callback" and deferrable is False:
        raise catalog.ValidationError(
            "wait_mode", wait_mode, "poll when deferrable=False (callbacks are received by the triggerer)"
        )


def callback_queue(hook: IProductionHook, argument: str | None) -> str:
    """The queue: the task's ``callback_queue``, else the connection extra of that name."""
    queue = argument or hook.extras.get("callback_queue")
    if not queue or not isinstance(queue, str):
        raise catalog.ValidationError(
            "callback_queue",
            queue,
            "an MNS queue name, as the task's callback_queue or the connection extra 'callback_queue' "
            '(wait_mode="callback")',
        )
    return queue


def mns_endpoint(settings: ClientSettings) -> str:
    """The ``mns_endpoint`` extra as a URL; for a local engine without one, the engine's own port."""
    endpoint = settings.mns_endpoint
    if endpoint:
        return endpoint if "://" in endpoint else f"https://{endpoint}"
    if not settings.is_cloud:
        return f"{settings.protocol}://{settings.endpoint}"
    raise catalog.ValidationError(
        "mns_endpoint",
        None,
        "the MNS endpoint of the callback queue, e.g. https://<account-id>.mns.<region>.aliyuncs.com "
        '(a connection extra; needed by wait_mode="callback")',
    )


def queue_address(settings: ClientSettings, queue: str) -> QueueAddress:
    if not (settings.access_key_id and settings.access_key_secret):
        raise catalog.ValidationError(
            "access_key_id",
            None,
            'an AccessKey pair in the connection: wait_mode="callback" reads MNS with the connection\'s keys',
        )
    return QueueAddress(
        mns_endpoint(settings),
        queue,
        settings.access_key_id,
        settings.access_key_secret,
        settings.security_token or "",
        settings.ca_bundle or "",
    )


def notify_url(settings: ClientSettings, queue: str) -> str:
    """The MPS ``NotifyUrl`` of ``queue``: ``mns://<account>.mns.<region>.aliyuncs.com/queues/<name>``.
    A local engine's MNS has no account host; it takes the documented form with the account ``local``."""
    host = mns_endpoint(settings).split("://", 1)[1].split("/", 1)[0]
    if not host.lower().endswith(".aliyuncs.com"):
        host = f"local.mns.{settings.region}.aliyuncs.com"
    return f"mns://{host}/queues/{queue}"


def check_ice_callback(hook: IProductionHook, queue: str) -> None:
    """Fail, naming the queue and what to run, unless ICE's event callback delivers to ``queue``."""
    body = hook.get_conn().get_event_callback().body
    kind, name = body.callback_type, body.callback_queue_name
    events = [e for e in (body.event_type_list or "").split(",") if e]
    local = not hook.settings().is_cloud
    missing_event = local and events and ICE_EVENT_TYPE not in events
    if kind == "MNS" and name == queue and not missing_event:
        return
    seen = f"CallbackType={kind}, CallbackQueueName={name}, EventTypeList={body.event_type_list}"
    raise catalog.ValidationError(
        "callback_queue",
        queue,
        f"the queue ICE's event callback delivers to; GetEventCallback says {seen}. Run SetEventCallback "
        f"with CallbackType=MNS, CallbackQueueName={queue}"
        + (f" and EventTypeList naming {ICE_EVENT_TYPE} (or empty)" if local else "")
        + " (ICE callback queues are named ice-callback-*), or use wait_mode='poll'",
    )
