"""What the OSS handlers share: the call context, XML bodies and reading what a request carries."""

from __future__ import annotations

import base64
import io
import mimetypes
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import BinaryIO
from urllib.parse import quote
from xml.sax.saxutils import escape

from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.object_files import Incoming
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError, invalid_argument

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_XML_BODY = 2 << 20
_PASSTHROUGH_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "expires",
    "content-language",
)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass
class Call:
    """One verified request on its way to its handler: who signed it and what it addresses."""

    request: HttpRequest
    config: EngineConfig
    store: ObjectStore
    cred: Credential
    bucket: str = ""  # "" for the service level
    key: str = ""  # "" for the service and bucket levels
    params: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.params = dict(self.request.query)

    def endpoint(self, region: str) -> str:
        return f"oss-{region}.aliyuncs.com"

    def owner(self) -> str:
        owner_id = self.cred.access_key_id
        return f"<Owner>{xml('ID', owner_id)}{xml('DisplayName', owner_id)}</Owner>"


# -- answers ----------------------------------------------------------------------------------------------


def xml(tag: str, value: object) -> str:
    # Characters XML 1.0 cannot carry (e.g. NUL in a refused key echoed back) are shown escaped, \x00.
    text = _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return f"<{tag}>{escape(text)}</{tag}>"


def elements(**values: object) -> str:
    """``<Name>value</Name>`` for each keyword, in the order given."""
    return "".join(xml(tag, value) for tag, value in values.items())


def iso(ts: float) -> str:
    # OSS keeps whole seconds and always writes ``.000Z``; oss2 refuses any other fraction.
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def xml_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    data = (XML_HEAD + body).encode("utf-8")
    out = {"Content-Type": "application/xml", "Content-Length": str(len(data))}
    out.update(headers or {})
    return HttpResponse(status=status, headers=out, body=data)


def no_content() -> HttpResponse:
    return HttpResponse(status=204, headers={"Content-Length": "0"})


def content_md5_of(etag: str) -> str:
    """The base64 Content-MD5 of a plain (single-MD5) ETag."""
    return base64.b64encode(bytes.fromhex(etag.strip('"'))).decode()


def result_headers(etag: str, crc64: str) -> dict[str, str]:
    """Headers of an XML result about a written object (CopyObject, UploadPartCopy, CompleteMultipartUpload):
    the ETag is in the body and, as oss2 reads it, in the ``ETag`` header too."""
    return {"ETag": etag, "x-oss-hash-crc64ecma": crc64}


def stored_response(etag: str, crc64: str) -> HttpResponse:
    """The answer to a body the server stored whole (PutObject, UploadPart): its ETag, MD5 and CRC64."""
    headers = {"ETag": etag, "x-oss-hash-crc64ecma": crc64, "Content-Length": "0"}
    headers["Content-MD5"] = content_md5_of(etag)
    return HttpResponse(status=200, headers=headers)


def acl_policy(call: Call, grant: str) -> HttpResponse:
    """GetBucketAcl / GetObjectAcl: every bucket here is private (signed requests only), objects inherit."""
    body = f"<AccessControlPolicy>{call.owner()}<AccessControlList>{xml('Grant', grant)}</AccessControlList>"
    return xml_response(body + "</AccessControlPolicy>")


# -- reading the request ----------------------------------------------------------------------------------


def body_stream(request: HttpRequest) -> BinaryIO:
    return request.body_stream if request.body_stream is not None else io.BytesIO(request.body)


def incoming(request: HttpRequest, *, with_md5: bool = True) -> Incoming:
    """The request body to store, with its Content-Length and (unless told not to) its Content-MD5."""
    md5 = request.headers.get("content-md5") if with_md5 else None
    return Incoming(body_stream(request), declared_length(request), md5)


def read_small_body(request: HttpRequest) -> bytes:
    data = body_stream(request).read(MAX_XML_BODY + 1)
    if len(data) > MAX_XML_BODY:
        raise OssError(400, "EntityTooLarge", f"An XML request body is limited to {MAX_XML_BODY} bytes.")
    return data


def parse_xml(request: HttpRequest, what: str) -> ET.Element:
    data = read_small_body(request)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise OssError(
            400, "MalformedXML", f"The {what} XML you provided was not well-formed: {exc}."
        ) from None


def declared_length(request: HttpRequest) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None  # chunked: the stream ends the body
    if not raw.strip().isdigit():
        raise invalid_argument("Content-Length", raw, "a non-negative integer")
    return int(raw)


def content_type(request: HttpRequest, key: str) -> str:
    return request.headers.get("content-type") or mimetypes.guess_type(key)[0] or "application/octet-stream"


def stored_meta(request: HttpRequest) -> dict[str, str]:
    """x-oss-meta-* (without the prefix) plus the standard headers OSS keeps with an object."""
    meta = {k[len("x-oss-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-oss-meta-")}
    for name in _PASSTHROUGH_HEADERS:
        value = request.headers.get(name)
        if value:
            meta["_h_" + "-".join(p.capitalize() for p in name.split("-"))] = value
    return meta


def int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid_argument(name, raw, f"an integer in [{low}, {high}]")
    return int(raw)


def encoder(params: dict[str, str]) -> Callable[[str], str]:
    """How keys are echoed back: as they are, or percent-encoded for ``encoding-type=url``."""
    kind = params.get("encoding-type")
    if kind is None or kind == "":
        return lambda s: s
    if kind != "url":
        raise invalid_argument("encoding-type", kind, "url")
    return lambda s: quote(s, safe="")
