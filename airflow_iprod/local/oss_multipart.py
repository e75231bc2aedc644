"""Multipart upload over OSS's wire: InitiateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload (the storage side is ``multipart_uploads``).

ListParts, ListMultipartUploads and UploadPartCopy are not served: ``oss_api`` answers them 501.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow_iprod.local.http import HttpResponse
from airflow_iprod.local.multipart_uploads import MultipartUploads
from airflow_iprod.local.oss_errors import OssError
from airflow_iprod.local.oss_wire import (
    Call,
    content_type,
    encoder,
    incoming,
    int_param,
    no_content,
    parse_xml,
    read_small_body,
    stored_meta,
    stored_response,
    xml,
    xml_response,
)


def _result(call: Call, element: str, *inner: str) -> str:
    """``<element>`` holding ``inner``, after the EncodingType line both results carry when asked for."""
    head = xml("EncodingType", "url") if "encoding-type" in call.params else ""
    return f"<{element}>{head}{''.join(inner)}</{element}>"


def initiate_upload(call: Call) -> HttpResponse:
    upload_id = MultipartUploads(call.store).initiate(
        call.bucket,
        call.key,
        content_type=content_type(call.request, call.key),
        meta=stored_meta(call.request),
    )
    enc = encoder(call.params)
    body = _result(
        call,
        "InitiateMultipartUploadResult",
        xml("Bucket", call.bucket),
        xml("Key", enc(call.key)),
        xml("UploadId", upload_id),
    )
    return xml_response(body)


def upload_part(call: Call) -> HttpResponse:
    number = int_param(call.params, "partNumber", 0, 1, 10000)
    part = MultipartUploads(call.store).upload_part(
        call.bucket, call.key, call.params.get("uploadId", ""), number, incoming(call.request)
    )
    return stored_response(part.etag, part.crc64)


def _chosen_parts(call: Call) -> list[tuple[int, str]] | None:
    """The (number, ETag) list of the request body; None for ``x-oss-complete-all: yes`` (every part)."""
    if (call.request.headers.get("x-oss-complete-all") or "").lower() == "yes":
        read_small_body(call.request)
        return None
    root = parse_xml(call.request, "CompleteMultipartUpload")
    parts = []
    for el in root.findall("Part"):
        number = (el.findtext("PartNumber") or "").strip()
        if not number.isdigit():
            raise OssError(400, "MalformedXML", f"PartNumber {number!r} is not a number.")
        parts.append((int(number), (el.findtext("ETag") or "").strip()))
    return parts


def complete_upload(call: Call) -> HttpResponse:
    upload_id = call.params.get("uploadId", "")
    parts = _chosen_parts(call)
    info = MultipartUploads(call.store).complete(call.bucket, call.key, upload_id, parts)
    enc = encoder(call.params)
    host = call.request.host or call.endpoint(call.config.region)
    body = _result(
        call,
        "CompleteMultipartUploadResult",
        xml("Location", f"http://{host}/{call.bucket}/{quote(call.key)}"),
        xml("Bucket", call.bucket),
        xml("Key", enc(call.key)),
        xml("ETag", info.etag),
    )
    return xml_response(body, headers={"x-oss-hash-crc64ecma": info.crc64})


def abort_upload(call: Call) -> HttpResponse:
    MultipartUploads(call.store).abort(call.bucket, call.key, call.params.get("uploadId", ""))
    return no_content()
