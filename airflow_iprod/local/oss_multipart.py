"""Multipart upload over OSS's wire: InitiateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
ListMultipartUploads, CompleteMultipartUpload, AbortMultipartUpload (the storage side is
``multipart_uploads``).
"""

from __future__ import annotations

from urllib.parse import quote

from airflow_iprod.local.http import HttpResponse
from airflow_iprod.local.multipart_uploads import MultipartUploads
from airflow_iprod.local.object_files import Incoming
from airflow_iprod.local.oss_errors import OssError
from airflow_iprod.local.oss_objects import copy_source, parse_range
from airflow_iprod.local.oss_wire import (
    Call,
    content_type,
    elements,
    encoder,
    incoming,
    int_param,
    iso,
    no_content,
    parse_xml,
    read_small_body,
    result_headers,
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


def upload_part_copy(call: Call) -> HttpResponse:
    """UploadPartCopy: the part is ``x-oss-copy-source`` (bytes ``x-oss-copy-source-range``, else whole)."""
    number = int_param(call.params, "partNumber", 0, 1, 10000)
    src, not_modified = copy_source(call)
    if not_modified is not None:
        return not_modified
    info, reader = call.store.open(src.bucket, src.key)
    with reader:
        span = call.request.headers.get("x-oss-copy-source-range")
        start, end = parse_range(span, info.size) or (0, info.size - 1)
        reader.seek(start)
        part = MultipartUploads(call.store).upload_part(
            call.bucket, call.key, call.params.get("uploadId", ""), number, Incoming(reader, end - start + 1)
        )
    body = f"<CopyPartResult>{xml('LastModified', iso(part.mtime))}{xml('ETag', part.etag)}</CopyPartResult>"
    return xml_response(body, headers=result_headers(part.etag, part.crc64))


def list_parts(call: Call) -> HttpResponse:
    upload_id = call.params.get("uploadId", "")
    marker = int_param(call.params, "part-number-marker", 0, 0, 10000)
    max_parts = int_param(call.params, "max-parts", 1000, 1, 1000)
    parts = MultipartUploads(call.store).list_parts(call.bucket, call.key, upload_id)
    after = [p for p in parts if p.number > marker]
    page, truncated = after[:max_parts], len(after) > max_parts
    head = elements(
        Bucket=call.bucket,
        Key=encoder(call.params)(call.key),
        UploadId=upload_id,
        PartNumberMarker=marker,
        NextPartNumberMarker=page[-1].number if page else marker,
        MaxParts=max_parts,
        IsTruncated=str(truncated).lower(),
    )
    rows = [
        "<Part>"
        + elements(
            PartNumber=p.number, LastModified=iso(p.mtime), ETag=p.etag, HashCrc64ecma=p.crc64, Size=p.size
        )
        + "</Part>"
        for p in page
    ]
    return xml_response(_result(call, "ListPartsResult", head, *rows))


def list_uploads(call: Call) -> HttpResponse:
    """ListMultipartUploads (``GET /bucket?uploads``)."""
    p, enc = call.params, encoder(call.params)
    max_uploads = int_param(p, "max-uploads", 1000, 1, 1000)
    prefix, delimiter = p.get("prefix", ""), p.get("delimiter", "")
    key_marker, id_marker = p.get("key-marker", ""), p.get("upload-id-marker", "")
    page = MultipartUploads(call.store).list_uploads(
        call.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=id_marker,
        max_uploads=max_uploads,
    )
    head = elements(
        Bucket=call.bucket,
        KeyMarker=enc(key_marker),
        UploadIdMarker=id_marker,
        NextKeyMarker=enc(page.next_key_marker),
        NextUploadIdMarker=page.next_upload_id_marker,
        Delimiter=enc(delimiter),
        Prefix=enc(prefix),
        MaxUploads=max_uploads,
        IsTruncated=str(page.truncated).lower(),
    )
    uploads = [
        f"<Upload>{elements(Key=enc(u.key), UploadId=u.upload_id, Initiated=iso(u.created))}</Upload>"
        for u in page.uploads
    ]
    prefixes = [f"<CommonPrefixes>{xml('Prefix', enc(cp))}</CommonPrefixes>" for cp in page.common_prefixes]
    return xml_response(_result(call, "ListMultipartUploadsResult", head, *uploads, *prefixes))


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
    return xml_response(body, headers=result_headers(info.etag, info.crc64))


def abort_upload(call: Call) -> HttpResponse:
    MultipartUploads(call.store).abort(call.bucket, call.key, call.params.get("uploadId", ""))
    return no_content()
