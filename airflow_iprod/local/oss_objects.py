"""Object-level OSS operations: PutObject, CopyObject, GetObject/HeadObject, GetObjectMeta, GetObjectAcl,
DeleteObject, AppendObject (multipart upload is in ``oss_multipart``).

Each handler takes the verified Call and answers an HttpResponse or raises OssError; ``oss_api`` chooses
the handler and renders errors.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.object_db import ObjectInfo
from airflow_iprod.local.object_names import validate_bucket_name, validate_key
from airflow_iprod.local.oss_errors import OssError, invalid_argument, not_served
from airflow_iprod.local.oss_wire import (
    Call,
    acl_policy,
    body_stream,
    content_md5_of,
    content_type,
    declared_length,
    http_date,
    incoming,
    iso,
    no_content,
    result_headers,
    stored_meta,
    stored_response,
    xml,
    xml_response,
)

RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "Content-Type": info.content_type,
        "ETag": info.etag,
        "Last-Modified": http_date(info.mtime),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": info.kind,
        "x-oss-storage-class": "Standard",
        "x-oss-hash-crc64ecma": info.crc64,
    }
    for name, value in info.meta.items():
        if name.startswith("_h_"):  # standard headers kept from the upload (Cache-Control, ...)
            headers[name[3:]] = value
        else:
            headers["x-oss-meta-" + name] = value
    if info.kind == "Normal" and "-" not in info.etag:
        headers["Content-MD5"] = content_md5_of(info.etag)
    return headers


def _precondition_failed(condition: str) -> OssError:
    return OssError(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold.",
        Condition=condition,
    )


def _check_conditions(request: HttpRequest | _CopySourceView, info: ObjectInfo) -> HttpResponse | None:
    """If-Match / If-None-Match / If-(Un)Modified-Since, with OSS's statuses (412, 304)."""
    etag = info.etag.strip('"')
    if_match = request.headers.get("if-match")
    if if_match is not None and if_match.strip().strip('"').upper() != etag:
        raise _precondition_failed("If-Match")
    since = _parse_http_date(request.headers.get("if-unmodified-since"))
    if since is not None and int(info.mtime) > since:
        raise _precondition_failed("If-Unmodified-Since")
    if_none = request.headers.get("if-none-match")
    if if_none is not None and if_none.strip().strip('"').upper() == etag:
        return HttpResponse(status=304, headers={"ETag": info.etag, "Content-Length": "0"})
    modified = _parse_http_date(request.headers.get("if-modified-since"))
    if modified is not None and int(info.mtime) <= modified:
        return HttpResponse(status=304, headers={"ETag": info.etag, "Content-Length": "0"})
    return None


class _CopySourceView:
    """Presents x-oss-copy-source-if-* headers as If-* so one condition checker serves both."""

    def __init__(self, request: HttpRequest) -> None:
        self.headers = {
            name: request.headers.get("x-oss-copy-source-" + name)
            for name in ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
        }


def _parse_http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        return None  # OSS ignores an unparsable condition date


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` -> inclusive (start, end) clamped to the object.

    A malformed or multi-range header is ignored (the whole object is returned, as OSS does); a well-formed
    range that starts past the end is unsatisfiable (416 InvalidRange, OSS's ``x-oss-range-behavior:
    standard``, which the SDK's downloader sends).
    """
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not match or (match.group(1) == "" and match.group(2) == ""):
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _invalid_range(value, size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last != "" else None
    if end is not None and end < start:
        return None
    if start >= size:
        raise _invalid_range(value, size)
    end = size - 1 if end is None else end
    return start, min(end, size - 1)


def _invalid_range(value: str, size: int) -> OssError:
    return OssError(
        416,
        "InvalidRange",
        "The requested range cannot be satisfied.",
        RangeRequested=value,
        ActualObjectSize=str(size),
    )


# -- handlers ---------------------------------------------------------------------------------------------


def put_object(call: Call) -> HttpResponse:
    req, bucket, key = call.request, call.bucket, call.key
    if (req.headers.get("x-oss-forbid-overwrite") or "").lower() == "true":
        try:
            call.store.head(bucket, key)
        except OssError as err:
            if err.code != "NoSuchKey":
                raise
        else:
            raise OssError(
                409,
                "FileAlreadyExists",
                "The object you specified already exists and can not be overwritten.",
                Key=key,
            )
    info = call.store.put_object(
        bucket,
        key,
        body_stream(req),
        length=declared_length(req),
        content_type=content_type(req, key),
        meta=stored_meta(req),
        content_md5=req.headers.get("content-md5"),
    )
    return stored_response(info.etag, info.crc64)


def copy_source(call: Call) -> tuple[ObjectInfo, HttpResponse | None]:
    """The object ``x-oss-copy-source`` names (CopyObject, UploadPartCopy), and the 304 to answer instead
    when an x-oss-copy-source-if-none-match / -if-modified-since condition says so (412 is raised)."""
    source = unquote(call.request.headers.get("x-oss-copy-source") or "")
    src_bucket, _, src_key = source.lstrip("/").partition("/")
    src_key, _, version = src_key.partition("?versionId=")
    if version and version != "null":  # "null" is the version of every object in an unversioned bucket
        raise not_served("Copying a version (x-oss-copy-source ?versionId=)", "buckets here keep no versions")
    if not src_bucket or not src_key:
        raise invalid_argument("x-oss-copy-source", source, "/source-bucket/source-key")
    validate_bucket_name(src_bucket)
    validate_key(src_key)
    info = call.store.head(src_bucket, src_key)
    return info, _check_conditions(_CopySourceView(call.request), info)


def copy_object(call: Call) -> HttpResponse:
    src, not_modified = copy_source(call)
    if not_modified is not None:
        return not_modified
    src_bucket, src_key = src.bucket, src.key
    directive = (call.request.headers.get("x-oss-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("x-oss-metadata-directive", directive, "COPY or REPLACE")
    replace = directive == "REPLACE"
    info = call.store.copy_object(
        src_bucket,
        src_key,
        call.bucket,
        call.key,
        content_type=content_type(call.request, call.key) if replace else None,
        meta=stored_meta(call.request) if replace else None,
    )
    body = f"<CopyObjectResult>{xml('ETag', info.etag)}{xml('LastModified', iso(info.mtime))}"
    body += "</CopyObjectResult>"
    return xml_response(body, headers=result_headers(info.etag, info.crc64))


def get_object(call: Call) -> HttpResponse:
    """GetObject, and HeadObject (the same headers, no body)."""
    info = call.store.head(call.bucket, call.key)
    not_modified = _check_conditions(call.request, info)
    if not_modified is not None:
        return not_modified
    headers = _object_headers(info)
    for param, header in RESPONSE_OVERRIDES.items():
        if param in call.params:
            headers[header] = call.params[param]
    if call.request.method == "HEAD":
        headers["Content-Length"] = str(info.size)
        return HttpResponse(status=200, headers=headers)
    rng = parse_range(call.request.headers.get("range"), info.size)
    if rng is None:
        headers["Content-Length"] = str(info.size)
        return HttpResponse(status=200, headers=headers, file_path=str(info.path), file_range=None)
    start, end = rng
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    headers.pop("x-oss-hash-crc64ecma", None)  # the CRC is of the whole object, not of the part sent
    headers.pop("Content-MD5", None)
    return HttpResponse(status=206, headers=headers, file_path=str(info.path), file_range=(start, end))


def object_meta(call: Call) -> HttpResponse:
    info = call.store.head(call.bucket, call.key)
    headers = {
        "ETag": info.etag,
        "Content-Length": str(info.size),
        "Last-Modified": http_date(info.mtime),
        "x-oss-last-access-time": http_date(info.mtime),
        "x-oss-hash-crc64ecma": info.crc64,
    }
    return HttpResponse(status=200, headers=headers)


def object_acl(call: Call) -> HttpResponse:
    call.store.head(call.bucket, call.key)
    return acl_policy(call, "default")


def delete_object(call: Call) -> HttpResponse:
    call.store.delete_object(call.bucket, call.key)
    return no_content()


def append_object(call: Call) -> HttpResponse:
    raw = call.params.get("position", "")
    if not raw.isdigit():
        raise invalid_argument(
            "position", raw, "the current length of the appendable object (0 to create it)"
        )
    req = call.request
    info = call.store.append_object(
        call.bucket,
        call.key,
        int(raw),
        incoming(req, with_md5=False),  # AppendObject has never checked Content-MD5 here
        content_type=content_type(req, call.key),
        meta=stored_meta(req),
    )
    headers = {
        "ETag": info.etag,
        "x-oss-next-append-position": str(info.size),
        "x-oss-hash-crc64ecma": info.crc64,
        "Content-Length": "0",
    }
    return HttpResponse(status=200, headers=headers)
