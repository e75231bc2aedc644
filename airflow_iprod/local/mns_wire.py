"""MNS (2015-06-06) on the wire: the XML request bodies it reads and the XML answers and errors it writes.

Everything is in the ``http://mns.aliyuncs.com/doc/v1/`` namespace, as the official SDK writes and
parses it; times are epoch milliseconds. ``MnsError`` is the one failure type below the MNS front end,
answered as ``<Error><Code/><Message/><RequestId/><HostId/></Error>`` with its HTTP status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.etree import ElementTree as ET

XMLNS = "http://mns.aliyuncs.com/doc/v1/"
MNS_VERSION = "2015-06-06"


class MnsError(Exception):
    """A refusal in MNS's terms: ``code`` and HTTP ``status`` as the cloud answers them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid_argument(name: str, value: object, allowed: str) -> MnsError:
    return MnsError(400, "InvalidArgument", f"The value of {name}={value!r} is not valid: {allowed}.")


def queue_not_exist(name: str) -> MnsError:
    return MnsError(404, "QueueNotExist", f"The queue {name!r} you provided does not exist.")


def message_not_exist(why: str = "Message not exist.") -> MnsError:
    return MnsError(404, "MessageNotExist", why)


def new_request_id() -> str:
    return uuid.uuid4().hex.upper()[:24]


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as SendMessage/BatchSendMessage carry it (the body exactly as sent: base64 or not)."""

    body: str
    delay_seconds: int | None = None
    priority: int | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, what: str) -> ET.Element:
    if not data.strip():
        raise invalid_argument("body", "", f"an XML <{what}> document")
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise MnsError(400, "InvalidArgument", f"The request body is not well-formed XML: {err}.") from None


def fields(element: ET.Element) -> dict[str, str]:
    """The simple child elements of ``element`` by local name (nested ones are skipped)."""
    return {_local(child.tag): (child.text or "") for child in element if len(child) == 0}


def queue_fields(data: bytes) -> dict[str, str]:
    """CreateQueue / SetQueueAttributes: the ``<Queue>`` attributes given (none is allowed)."""
    if not data.strip():
        return {}
    root = parse_xml(data, "Queue")
    if _local(root.tag) != "Queue":
        raise invalid_argument("body", _local(root.tag), "a <Queue> element")
    return fields(root)


def messages_from(data: bytes) -> tuple[bool, list[OutgoingMessage]]:
    """SendMessage (``<Message>``, batch False) or BatchSendMessage (``<Messages>``, batch True)."""
    root = parse_xml(data, "Message")
    tag = _local(root.tag)
    if tag == "Message":
        return False, [_message(root)]
    if tag == "Messages":
        items = [_message(m) for m in root if _local(m.tag) == "Message"]
        return True, items
    raise invalid_argument("body", tag, "a <Message> or <Messages> element")


def _message(element: ET.Element) -> OutgoingMessage:
    values = fields(element)
    if not values.get("MessageBody"):
        raise invalid_argument("MessageBody", values.get("MessageBody", ""), "a non-empty message body")
    return OutgoingMessage(
        body=values["MessageBody"],
        delay_seconds=_int("DelaySeconds", values.get("DelaySeconds")),
        priority=_int("Priority", values.get("Priority")),
    )


def _int(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid_argument(name, value, "an integer") from None


def receipt_handles_from(data: bytes) -> list[str]:
    root = parse_xml(data, "ReceiptHandles")
    if _local(root.tag) != "ReceiptHandles":
        raise invalid_argument("body", _local(root.tag), "a <ReceiptHandles> element")
    return [(child.text or "").strip() for child in root if _local(child.tag) == "ReceiptHandle"]


# -- answers -------------------------------------------------------------------------------------------


def _element(tag: str, values: Mapping[str, object]) -> ET.Element:
    element = ET.Element(tag)
    for key, value in values.items():
        if value is not None:
            ET.SubElement(element, key).text = str(value)
    return element


def to_xml(root: ET.Element) -> bytes:
    root.set("xmlns", XMLNS)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def document(tag: str, values: Mapping[str, object]) -> bytes:
    return to_xml(_element(tag, values))


def document_list(
    root_tag: str, item_tag: str, items: Iterable[Mapping[str, object]], after: Mapping[str, object] = {}
) -> bytes:
    """``<root><item>…</item>…</root>``, then the simple elements ``after`` (ListQueue's NextMarker)."""
    root = ET.Element(root_tag)
    for values in items:
        root.append(_element(item_tag, values))
    for key, value in after.items():
        ET.SubElement(root, key).text = str(value)
    return to_xml(root)


def error_document(err: MnsError, request_id: str, host_id: str) -> bytes:
    return document(
        "Error", {"Code": err.code, "Message": err.message, "RequestId": request_id, "HostId": host_id}
    )
