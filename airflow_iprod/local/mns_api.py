"""The MNS (Message Service, 2015-06-06) queue API on the engine's own port, for the official SDK.

A request is MNS's when it carries ``x-mns-version``: the SDK sends it on every call, and neither the
RPC SDKs nor any OSS client does. The path alone cannot tell (``/queues`` is also a valid OSS bucket).
Handlers are looked up by (method, path level, query selector); every refusal, and any bug, becomes
MNS's XML ``<Error>`` here and nowhere else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from urllib.parse import unquote

from airflow_iprod.local import mns_wire as wire
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.mns_signing import MnsVerifier
from airflow_iprod.local.mns_store import MnsStore, QueueInfo, Received
from airflow_iprod.local.mns_wire import MnsError, invalid_argument

MAX_BODY = 4 << 20  # 16 messages of 64 KB in XML, with room to spare
MAX_BATCH = 16
MAX_WAIT_S = 30
# CreateQueue / SetQueueAttributes attributes and their documented ranges.
RANGES = {
    "DelaySeconds": (0, 604800),
    "MaximumMessageSize": (1024, 65536),
    "MessageRetentionPeriod": (60, 604800),
    "VisibilityTimeout": (1, 43200),
    "PollingWaitSeconds": (0, MAX_WAIT_S),
}
SELECTORS = ("metaoverride", "peekonly", "ReceiptHandle")


def is_mns(request: HttpRequest) -> bool:
    return "x-mns-version" in request.headers


class _Call:
    """One request as the handlers see it: queue name, decoded query, body, and the host for URLs."""

    def __init__(self, request: HttpRequest, queue: str, body: bytes) -> None:
        self.request = request
        self.queue = queue
        self.params = dict(request.query)
        self.body = body

    def number(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        return _in_range(name, value, low, high)

    @property
    def host(self) -> str:
        return self.request.host or "127.0.0.1"


Handler = Callable[["MnsApi", _Call], HttpResponse]


def _in_range(name: str, value: object, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise invalid_argument(name, value, f"an integer from {low} to {high}") from None
    if not low <= number <= high:
        raise invalid_argument(name, value, f"an integer from {low} to {high}")
    return number


def _queue_attributes(call: _Call) -> tuple[dict[str, int], bool | None]:
    given = wire.queue_fields(call.body)
    attrs = {k: _in_range(k, given[k], *RANGES[k]) for k in RANGES if given.get(k, "") != ""}
    logging = given.get("LoggingEnabled")
    if logging is not None and logging.lower() not in ("true", "false"):
        raise invalid_argument("LoggingEnabled", logging, "True or False")
    return attrs, (None if logging is None else logging.lower() == "true")


def _xml(status: int, body: bytes = b"", **headers: str) -> HttpResponse:
    if body:
        headers["Content-Type"] = "text/xml;charset=utf-8"
    return HttpResponse(status=status, headers=headers, body=body)


def _message_fields(m: Received) -> dict[str, object]:
    values: dict[str, object] = {
        "MessageId": m.message_id,
        "ReceiptHandle": m.receipt_handle,
        "MessageBodyMD5": m.body_md5,
        "MessageBody": m.body,
        "EnqueueTime": m.enqueue_ms,
        "NextVisibleTime": m.next_visible_ms if m.receipt_handle else None,
        "FirstDequeueTime": m.first_dequeue_ms,
        "DequeueCount": m.dequeue_count,
        "Priority": m.priority,
    }
    return values


def _queue_fields(info: QueueInfo, url: str) -> dict[str, object]:
    return {
        "QueueURL": url,
        "QueueName": info.name,
        "CreateTime": int(info.create_time),
        "LastModifyTime": int(info.modify_time),
        **info.attributes,
        "ActiveMessages": info.active,
        "InactiveMessages": info.inactive,
        "DelayMessages": info.delayed,
        "LoggingEnabled": "True" if info.logging_enabled else "False",
    }


# -- handlers ----------------------------------------------------------------------------------------------


def create_queue(api: MnsApi, call: _Call) -> HttpResponse:
    attrs, logging = _queue_attributes(call)
    created = api.store.create_queue(call.queue, attrs, bool(logging))
    return _xml(201 if created else 204, Location=f"http://{call.host}/queues/{call.queue}")


def set_queue_attributes(api: MnsApi, call: _Call) -> HttpResponse:
    attrs, logging = _queue_attributes(call)
    api.store.set_queue_attributes(call.queue, attrs, logging)
    return _xml(204)


def get_queue_attributes(api: MnsApi, call: _Call) -> HttpResponse:
    info = api.store.get_queue(call.queue)
    fields = _queue_fields(info, f"http://{call.host}/queues/{info.name}")
    del fields["QueueURL"]
    return _xml(200, wire.document("Queue", fields))


def delete_queue(api: MnsApi, call: _Call) -> HttpResponse:
    api.store.delete_queue(call.queue)
    return _xml(204)


def list_queue(api: MnsApi, call: _Call) -> HttpResponse:
    headers = call.request.headers
    limit = _in_range("x-mns-ret-number", headers.get("x-mns-ret-number") or "1000", 1, 1000)
    names, marker = api.store.list_queues(
        headers.get("x-mns-prefix") or "", headers.get("x-mns-marker") or "", limit
    )
    with_meta = (headers.get("x-mns-with-meta") or "").lower() == "true"
    items = []
    for name in names:
        url = f"http://{call.host}/queues/{name}"
        items.append(_queue_fields(api.store.get_queue(name), url) if with_meta else {"QueueURL": url})
    after = {"NextMarker": marker} if marker else {}
    return _xml(200, wire.document_list("Queues", "Queue", items, after))


def send_message(api: MnsApi, call: _Call) -> HttpResponse:
    batch, messages = wire.messages_from(call.body)
    if not 1 <= len(messages) <= MAX_BATCH:
        raise invalid_argument("Messages", len(messages), f"1 to {MAX_BATCH} messages")
    for m in messages:
        if m.delay_seconds is not None:
            _in_range("DelaySeconds", m.delay_seconds, 0, 604800)
        if m.priority is not None:
            _in_range("Priority", m.priority, 1, 16)
    sent = api.store.send(call.queue, messages)
    items = [{"MessageId": mid, "MessageBodyMD5": md5} for mid, md5 in sent]
    if batch:
        return _xml(201, wire.document_list("Messages", "Message", items))
    return _xml(201, wire.document("Message", items[0]))


def receive_message(api: MnsApi, call: _Call) -> HttpResponse:
    batch = "numOfMessages" in call.params
    count = call.number("numOfMessages", 1, MAX_BATCH, 1) or 1
    wait = call.number("waitseconds", 0, MAX_WAIT_S)
    messages = api.store.receive(call.queue, count, wait)
    return _messages(messages, batch)


def peek_message(api: MnsApi, call: _Call) -> HttpResponse:
    batch = "numOfMessages" in call.params
    messages = api.store.peek(call.queue, call.number("numOfMessages", 1, MAX_BATCH, 1) or 1)
    return _messages(messages, batch)


def _messages(messages: list[Received], batch: bool) -> HttpResponse:
    if not messages:
        raise wire.message_not_exist()
    if batch:
        return _xml(200, wire.document_list("Messages", "Message", [_message_fields(m) for m in messages]))
    return _xml(200, wire.document("Message", _message_fields(messages[0])))


def delete_message(api: MnsApi, call: _Call) -> HttpResponse:
    api.store.delete(call.queue, call.params["ReceiptHandle"])
    return _xml(204)


def batch_delete_message(api: MnsApi, call: _Call) -> HttpResponse:
    handles = wire.receipt_handles_from(call.body)
    if not 1 <= len(handles) <= MAX_BATCH:
        raise invalid_argument("ReceiptHandles", len(handles), f"1 to {MAX_BATCH} receipt handles")
    api.store.get_queue(call.queue)  # QueueNotExist before any per-handle error
    errors = []
    for handle in handles:
        try:
            api.store.delete(call.queue, handle)
        except MnsError as err:
            errors.append({"ErrorCode": err.code, "ErrorMessage": err.message, "ReceiptHandle": handle})
    if errors:
        return _xml(404, wire.document_list("Errors", "Error", errors))
    return _xml(204)


def change_visibility(api: MnsApi, call: _Call) -> HttpResponse:
    timeout = call.number("VisibilityTimeout", *RANGES["VisibilityTimeout"])
    if timeout is None:
        raise invalid_argument("VisibilityTimeout", "", "an integer from 1 to 43200")
    handle, visible = api.store.change_visibility(call.queue, call.params["ReceiptHandle"], timeout)
    return _xml(200, wire.document("ChangeVisibility", {"ReceiptHandle": handle, "NextVisibleTime": visible}))


DISPATCH: dict[tuple[str, str, str | None], Handler] = {
    ("GET", "account", None): list_queue,
    ("PUT", "queue", None): create_queue,
    ("PUT", "queue", "metaoverride"): set_queue_attributes,
    ("GET", "queue", None): get_queue_attributes,
    ("DELETE", "queue", None): delete_queue,
    ("POST", "messages", None): send_message,
    ("GET", "messages", None): receive_message,
    ("GET", "messages", "peekonly"): peek_message,
    ("DELETE", "messages", "ReceiptHandle"): delete_message,
    ("DELETE", "messages", None): batch_delete_message,
    ("PUT", "messages", "ReceiptHandle"): change_visibility,
}


def _route(request: HttpRequest) -> tuple[str, str]:
    """(level, queue name) from the path: /queues, /queues/<name> or /queues/<name>/messages."""
    parts = [unquote(p) for p in request.path.strip("/").split("/")]
    if parts and parts[0] == "topics":
        raise MnsError(
            400,
            "NotSupported.LocalEngine",
            "The local engine serves MNS queues only, not topics or subscriptions.",
        )
    if parts == ["queues"]:
        return "account", ""
    if len(parts) in (2, 3) and parts[0] == "queues" and (len(parts) == 2 or parts[2] == "messages"):
        name = parts[1]
        if not wire_name_ok(name):
            raise invalid_argument(
                "QueueName", name, "1-256 characters: a letter, then letters, digits or hyphens"
            )
        return ("queue" if len(parts) == 2 else "messages"), name
    raise MnsError(404, "InvalidArgument", f"{request.method} {request.path} is not an MNS queue resource.")


def wire_name_ok(name: str) -> bool:
    return (
        0 < len(name) <= 256
        and name[0].isascii()
        and name[0].isalpha()
        and all(c.isascii() and (c.isalnum() or c == "-") for c in name)
    )


class MnsApi:
    def __init__(self, store: MnsStore, verifier: MnsVerifier) -> None:
        self.store = store
        self.verifier = verifier

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = wire.new_request_id()
        host = request.host or "127.0.0.1"
        try:
            response = self._handle(request)
        except MnsError as err:
            response = _xml(err.status, wire.error_document(err, request_id, f"http://{host}"))
        except Exception as err:  # a bug: still MNS's error shape, and said on the log
            print(f"[iprod-mns] {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            internal = MnsError(500, "InternalError", f"The local engine failed: {type(err).__name__}: {err}")
            response = _xml(500, wire.error_document(internal, request_id, f"http://{host}"))
        response.headers["x-mns-request-id"] = request_id
        response.headers["x-mns-version"] = wire.MNS_VERSION
        return response

    def _handle(self, request: HttpRequest) -> HttpResponse:
        if request.problem is not None:
            raise MnsError(request.problem.status, request.problem.oss_code, request.problem.message)
        body = self._body(request)
        self.verifier.verify(request, body)
        level, queue = _route(request)
        params = dict(request.query)
        selector = next((s for s in SELECTORS if s in params), None)
        handler = DISPATCH.get((request.method, level, selector)) or DISPATCH.get(
            (request.method, level, None)
        )
        if handler is None:
            raise MnsError(
                405, "InvalidArgument", f"{request.method} is not an MNS action on {request.path}."
            )
        return handler(self, _Call(request, queue, body))

    @staticmethod
    def _body(request: HttpRequest) -> bytes:
        if request.body_stream is None:
            return request.body
        data = request.body_stream.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise MnsError(413, "InvalidArgument", f"The request body is larger than {MAX_BODY} bytes.")
        return data
