"""OSS-compatible object API of the local engine (for ``alibabacloud_oss_v2`` and the OSSHook).

Server contract -- the engine's HTTP server calls, for every request that is not an RPC (ICE/MTS) call::

    handle(request: HttpRequest, config: EngineConfig, store: ObjectStore) -> HttpResponse

* ``request.target`` must be the raw request target as received (origin-form ``/bucket/key?x`` or
  absolute-form ``http://bucket.host/key`` from a proxying client): signatures cover the encoded query.
* ``request.headers`` must hold ``Host`` (virtual-host style ``bucket.<endpoint>`` is resolved from it).
* Body: pass ``request.body_stream`` (a reader yielding exactly the body, then EOF) for PUT/POST so uploads
  are streamed to disk; otherwise ``request.body`` is used.
* Response: when ``file_path`` is set, stream that file (``file_range`` = inclusive byte range) and send the
  ``Content-Length`` the handler set. For HEAD, send the headers as given (``Content-Length`` is the object
  size) and no body. Every answer carries ``x-oss-request-id``. An error may be answered before the body was
  read (e.g. a bad signature on PutObject): drain what is left of ``body_stream`` or close the connection.
* ``store = ObjectStore.for_data_dir(config.data_dir)``, created once and shared by all threads.

Operations: ListBuckets (GetService), PutBucket, GetBucketInfo, GetBucketLocation, DeleteBucket,
ListObjects (V1), ListObjectsV2, DeleteMultipleObjects, PutObject, CopyObject, GetObject (Range, conditions,
response-* overrides), HeadObject, GetObjectMeta, DeleteObject, AppendObject, multipart upload (Initiate,
UploadPart, Complete, Abort).
Anything else answers 501 NotImplemented in OSS's XML error format.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import mimetypes
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from typing import BinaryIO
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from airflow_iprod.local import oss_signing
from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.multipart_uploads import MultipartUploads
from airflow_iprod.local.object_files import Incoming
from airflow_iprod.local.objects import ObjectInfo, ObjectStore, validate_bucket_name, validate_key
from airflow_iprod.local.oss_errors import OssError, invalid_argument, invalid_object_name

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_XML_BODY = 2 << 20
_ALIYUN_HOST = re.compile(r"^(?:(?P<bucket>[^.]+)\.)?(?P<endpoint>oss-[a-z0-9-]+\.aliyuncs\.com)$")
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_PASSTHROUGH_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "expires",
    "content-language",
)


def new_request_id() -> str:
    return secrets.token_hex(12).upper()


# -- addressing -------------------------------------------------------------------------------------------


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def split_host(host: str, config: EngineConfig) -> tuple[str | None, str]:
    """``Host`` -> (bucket or None, endpoint host without the bucket).

    Virtual-host style is recognised for ``bucket.oss-REGION[-internal].aliyuncs.com``, ``bucket.localhost``,
    ``bucket.<IP>`` and ``bucket.<configured host>``; any other host means path style.
    """
    name = host.strip().lower()
    if name.startswith("["):  # IPv6 literal, maybe with a port
        return None, name
    name = name.rsplit(":", 1)[0] if ":" in name else name
    match = _ALIYUN_HOST.match(name)
    if match:
        return match.group("bucket"), match.group("endpoint")
    first, dot, rest = name.partition(".")
    if dot and (rest == "localhost" or _is_ip(rest) or rest == config.host.lower()):
        return first, rest
    return None, name


def route(request: HttpRequest, config: EngineConfig) -> tuple[str | None, str | None]:
    """(bucket, key) decoded from Host and path; key None for service/bucket-level calls."""
    host_bucket, _ = split_host(request.host, config)
    raw = request.path
    try:
        path = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise invalid_object_name(raw, "the path is not valid percent-encoded UTF-8") from None
    if not path.startswith("/"):
        raise OssError(400, "InvalidURI", f"The request path {raw!r} must start with '/'.")
    rest = path[1:]
    if host_bucket is not None:
        bucket: str | None = host_bucket
    else:
        bucket, _, rest = rest.partition("/")
        bucket = bucket or None
        if bucket is None:
            return None, None
    if bucket is not None:
        validate_bucket_name(bucket)
    return bucket, (rest if rest != "" else None)


# -- XML helpers ------------------------------------------------------------------------------------------


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(tag: str, value: object) -> str:
    # Characters XML 1.0 cannot carry (e.g. NUL in a refused key echoed back) are shown escaped, \x00.
    text = _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return f"<{tag}>{escape(text)}</{tag}>"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def _http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


def _xml_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    data = (XML_HEAD + body).encode("utf-8")
    out = {"Content-Type": "application/xml", "Content-Length": str(len(data))}
    out.update(headers or {})
    return HttpResponse(status=status, headers=out, body=data)


def error_response(err: OssError, request: HttpRequest, request_id: str, host_id: str) -> HttpResponse:
    parts = [_xml("Code", err.code), _xml("Message", err.message), _xml("RequestId", request_id)]
    parts.append(_xml("HostId", host_id))
    parts += [_xml(k, v) for k, v in err.extra.items()]
    body = XML_HEAD + "<Error>\n  " + "\n  ".join(parts) + "\n</Error>\n"
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/xml", "Content-Length": str(len(data))}
    if request.method == "HEAD":
        # No body on HEAD: the SDKs read the error from this header instead.
        headers["x-oss-err"] = base64.b64encode(data).decode()
        headers["Content-Length"] = "0"
        data = b""
    return HttpResponse(status=err.status, headers=headers, body=data)


def _parse_xml(request: HttpRequest, what: str) -> ET.Element:
    data = _read_small_body(request)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise OssError(
            400, "MalformedXML", f"The {what} XML you provided was not well-formed: {exc}."
        ) from None


# -- request helpers ------------------------------------------------------------------------------------


def _body(request: HttpRequest) -> BinaryIO:
    return request.body_stream if request.body_stream is not None else io.BytesIO(request.body)


def _read_small_body(request: HttpRequest) -> bytes:
    data = _body(request).read(MAX_XML_BODY + 1)
    if len(data) > MAX_XML_BODY:
        raise OssError(400, "EntityTooLarge", f"An XML request body is limited to {MAX_XML_BODY} bytes.")
    return data


def _length(request: HttpRequest) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None  # chunked: the stream ends the body
    if not raw.strip().isdigit():
        raise invalid_argument("Content-Length", raw, "a non-negative integer")
    return int(raw)


def _user_meta(request: HttpRequest) -> dict[str, str]:
    return {k[len("x-oss-meta-") :]: v for k, v in request.headers.items() if k.startswith("x-oss-meta-")}


def _content_type(request: HttpRequest, key: str) -> str:
    return request.headers.get("content-type") or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid_argument(name, raw, f"an integer in [{low}, {high}]")
    return int(raw)


def _encoder(params: dict[str, str]) -> Callable[[str], str]:
    kind = params.get("encoding-type")
    if kind is None or kind == "":
        return lambda s: s
    if kind != "url":
        raise invalid_argument("encoding-type", kind, "url")
    return lambda s: quote(s, safe="")


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "Content-Type": info.content_type,
        "ETag": info.etag,
        "Last-Modified": _http_date(info.mtime),
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
        headers["Content-MD5"] = base64.b64encode(bytes.fromhex(info.etag.strip('"'))).decode()
    return headers


def _stored_meta(request: HttpRequest) -> dict[str, str]:
    meta = _user_meta(request)
    for name in _PASSTHROUGH_HEADERS:
        value = request.headers.get(name)
        if value:
            meta["_h_" + "-".join(p.capitalize() for p in name.split("-"))] = value
    return meta


def _check_conditions(request: HttpRequest, info: ObjectInfo) -> HttpResponse | None:
    """If-Match / If-None-Match / If-(Un)Modified-Since, with OSS's statuses (412, 304)."""
    etag = info.etag.strip('"')
    if_match = request.headers.get("if-match")
    if if_match is not None and if_match.strip().strip('"').upper() != etag:
        raise OssError(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
            Condition="If-Match",
        )
    since = _parse_http_date(request.headers.get("if-unmodified-since"))
    if since is not None and int(info.mtime) > since:
        raise OssError(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
            Condition="If-Unmodified-Since",
        )
    if_none = request.headers.get("if-none-match")
    if if_none is not None and if_none.strip().strip('"').upper() == etag:
        return HttpResponse(status=304, headers={"ETag": info.etag, "Content-Length": "0"})
    modified = _parse_http_date(request.headers.get("if-modified-since"))
    if modified is not None and int(info.mtime) <= modified:
        return HttpResponse(status=304, headers={"ETag": info.etag, "Content-Length": "0"})
    return None


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


# -- operations -----------------------------------------------------------------------------------------


class _Ctx:
    def __init__(
        self, request: HttpRequest, config: EngineConfig, store: ObjectStore, cred: Credential
    ) -> None:
        self.request = request
        self.config = config
        self.store = store
        self.cred = cred
        self.params = dict(request.query)

    def endpoint(self, region: str) -> str:
        return f"oss-{region}.aliyuncs.com"

    def owner(self) -> str:
        owner_id = self.cred.access_key_id
        return f"<Owner>{_xml('ID', owner_id)}{_xml('DisplayName', owner_id)}</Owner>"


def _list_buckets(ctx: _Ctx) -> HttpResponse:
    prefix = ctx.params.get("prefix", "")
    marker = ctx.params.get("marker", "")
    max_keys = _int_param(ctx.params, "max-keys", 100, 1, 1000)
    buckets, truncated = ctx.store.list_buckets(prefix, marker, max_keys)
    parts = ["<ListAllMyBucketsResult>"]
    if prefix or marker or "max-keys" in ctx.params:
        parts += [_xml("Prefix", prefix), _xml("Marker", marker), _xml("MaxKeys", max_keys)]
        parts.append(_xml("IsTruncated", str(truncated).lower()))
        if truncated:
            parts.append(_xml("NextMarker", buckets[-1].name))
    parts.append(ctx.owner() + "<Buckets>")
    for b in buckets:
        parts.append(
            "<Bucket>"
            + _xml("CreationDate", _iso(b.created))
            + _xml("ExtranetEndpoint", ctx.endpoint(b.region))
            + _xml("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com")
            + _xml("Location", f"oss-{b.region}")
            + _xml("Name", b.name)
            + _xml("Region", b.region)
            + _xml("StorageClass", "Standard")
            + "</Bucket>"
        )
    parts.append("</Buckets></ListAllMyBucketsResult>")
    return _xml_response("".join(parts))


def _put_bucket(ctx: _Ctx, bucket: str) -> HttpResponse:
    _read_small_body(ctx.request)  # CreateBucketConfiguration (storage class, redundancy): accepted, not used
    if not ctx.store.create_bucket(bucket, ctx.config.region):
        raise OssError(
            409,
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket "
            "namespace is shared by all users of the system. Please select a different name and try "
            "again.",
            BucketName=bucket,
        )
    return HttpResponse(status=200, headers={"Location": f"/{bucket}", "Content-Length": "0"})


def _bucket_info(ctx: _Ctx, bucket: str) -> HttpResponse:
    b = ctx.store.bucket(bucket)
    body = (
        "<BucketInfo><Bucket>"
        + _xml("AccessMonitor", "Disabled")
        + _xml("CreationDate", _iso(b.created))
        + _xml("ExtranetEndpoint", ctx.endpoint(b.region))
        + _xml("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com")
        + _xml("Location", f"oss-{b.region}")
        + _xml("StorageClass", "Standard")
        + _xml("DataRedundancyType", "LRS")
        + _xml("TransferAcceleration", "Disabled")
        + _xml("CrossRegionReplication", "Disabled")
        + _xml("Name", b.name)
        + _xml("Region", b.region)
        + ctx.owner()
        + "<AccessControlList><Grant>private</Grant></AccessControlList>"
        + "<ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm></ServerSideEncryptionRule>"
        + "<BucketPolicy><LogBucket></LogBucket><LogPrefix></LogPrefix></BucketPolicy>"
        + "</Bucket></BucketInfo>"
    )
    return _xml_response(body)


def _bucket_location(ctx: _Ctx, bucket: str) -> HttpResponse:
    return _xml_response(_xml("LocationConstraint", f"oss-{ctx.store.bucket(bucket).region}"))


def _delete_bucket(ctx: _Ctx, bucket: str) -> HttpResponse:
    ctx.store.delete_bucket(bucket)
    return HttpResponse(status=204, headers={"Content-Length": "0"})


def _contents_xml(info: ObjectInfo, enc: Callable[[str], str], owner: str | None) -> str:
    return (
        "<Contents>"
        + _xml("Key", enc(info.key))
        + _xml("LastModified", _iso(info.mtime))
        + _xml("ETag", info.etag)
        + _xml("Type", info.kind)
        + _xml("Size", info.size)
        + _xml("StorageClass", "Standard")
        + (owner or "")
        + "</Contents>"
    )


def _list_objects(ctx: _Ctx, bucket: str) -> HttpResponse:
    p = ctx.params
    v2 = p.get("list-type") == "2"
    if "list-type" in p and not v2:
        raise invalid_argument("list-type", p["list-type"], "2 (ListObjectsV2) or absent (ListObjects)")
    enc = _encoder(p)
    prefix, delimiter = p.get("prefix", ""), p.get("delimiter", "")
    max_keys = _int_param(p, "max-keys", 100, 0, 1000)
    if v2:
        token = p.get("continuation-token", "")
        start = p.get("start-after", "")
        if token:
            try:
                start = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
            except ValueError:
                raise invalid_argument(
                    "continuation-token", token, "a token from NextContinuationToken"
                ) from None
    else:
        start = p.get("marker", "")
    page = ctx.store.list_objects(
        bucket, prefix=prefix, delimiter=delimiter, start_after=start, max_keys=max_keys
    )
    owner = ctx.owner() if (not v2 or p.get("fetch-owner") == "true") else None
    parts = ["<ListBucketResult>", _xml("Name", bucket), _xml("Prefix", enc(prefix))]
    if v2:
        if "start-after" in p:
            parts.append(_xml("StartAfter", enc(p["start-after"])))
        if "continuation-token" in p:
            parts.append(_xml("ContinuationToken", p["continuation-token"]))
    else:
        parts.append(_xml("Marker", enc(start)))
    parts.append(_xml("MaxKeys", max_keys))
    parts.append(_xml("Delimiter", enc(delimiter)))
    if "encoding-type" in p:
        parts.append(_xml("EncodingType", "url"))
    parts.append(_xml("IsTruncated", str(page.truncated).lower()))
    if page.truncated:
        if v2:
            token = base64.urlsafe_b64encode(page.next_marker.encode("utf-8")).decode()
            parts.append(_xml("NextContinuationToken", token))
        else:
            parts.append(_xml("NextMarker", enc(page.next_marker)))
    if v2:
        parts.append(_xml("KeyCount", len(page.contents) + len(page.common_prefixes)))
    parts += [_contents_xml(info, enc, owner) for info in page.contents]
    parts += [f"<CommonPrefixes>{_xml('Prefix', enc(cp))}</CommonPrefixes>" for cp in page.common_prefixes]
    parts.append("</ListBucketResult>")
    return _xml_response("".join(parts))


def _delete_multiple(ctx: _Ctx, bucket: str) -> HttpResponse:
    root = _parse_xml(ctx.request, "Delete")
    url = ctx.params.get("encoding-type") == "url"
    quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
    keys = [(o.findtext("Key") or "") for o in root.findall("Object")]
    if not keys or len(keys) > 1000:
        raise OssError(400, "MalformedXML", "DeleteMultipleObjects takes 1 to 1000 <Object><Key> entries.")
    ctx.store.bucket(bucket)
    done = []
    for raw in keys:
        key = unquote(raw) if url else raw
        ctx.store.delete_object(bucket, key)
        done.append(raw)
    body = "<DeleteResult>" + (_xml("EncodingType", "url") if url else "")
    if not quiet:
        body += "".join(f"<Deleted>{_xml('Key', k)}</Deleted>" for k in done)
    return _xml_response(body + "</DeleteResult>")


def _put_object(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    req = ctx.request
    if (req.headers.get("x-oss-forbid-overwrite") or "").lower() == "true":
        try:
            ctx.store.head(bucket, key)
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
    info = ctx.store.put_object(
        bucket,
        key,
        _body(req),
        length=_length(req),
        content_type=_content_type(req, key),
        meta=_stored_meta(req),
        content_md5=req.headers.get("content-md5"),
    )
    headers = {"ETag": info.etag, "x-oss-hash-crc64ecma": info.crc64, "Content-Length": "0"}
    headers["Content-MD5"] = base64.b64encode(bytes.fromhex(info.etag.strip('"'))).decode()
    return HttpResponse(status=200, headers=headers)


def _copy_object(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    source = unquote(ctx.request.headers.get("x-oss-copy-source") or "")
    src_bucket, _, src_key = source.lstrip("/").partition("/")
    src_key = src_key.split("?versionId=", 1)[0]
    if not src_bucket or not src_key:
        raise invalid_argument("x-oss-copy-source", source, "/source-bucket/source-key")
    validate_bucket_name(src_bucket)
    validate_key(src_key)
    _check_conditions(_CopySourceView(ctx.request), ctx.store.head(src_bucket, src_key))
    directive = (ctx.request.headers.get("x-oss-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("x-oss-metadata-directive", directive, "COPY or REPLACE")
    replace = directive == "REPLACE"
    info = ctx.store.copy_object(
        src_bucket,
        src_key,
        bucket,
        key,
        content_type=_content_type(ctx.request, key) if replace else None,
        meta=_stored_meta(ctx.request) if replace else None,
    )
    body = f"<CopyObjectResult>{_xml('ETag', info.etag)}{_xml('LastModified', _iso(info.mtime))}"
    body += "</CopyObjectResult>"
    return _xml_response(body, headers={"x-oss-hash-crc64ecma": info.crc64})


class _CopySourceView:
    """Presents x-oss-copy-source-if-* headers as If-* so one condition checker serves both."""

    def __init__(self, request: HttpRequest) -> None:
        self.headers = {
            name: request.headers.get("x-oss-copy-source-" + name)
            for name in ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
        }


def _get_object(ctx: _Ctx, bucket: str, key: str, head: bool) -> HttpResponse:
    info = ctx.store.head(bucket, key)
    not_modified = _check_conditions(ctx.request, info)
    if not_modified is not None:
        return not_modified
    headers = _object_headers(info)
    for param, header in _RESPONSE_OVERRIDES.items():
        if param in ctx.params:
            headers[header] = ctx.params[param]
    if head:
        headers["Content-Length"] = str(info.size)
        return HttpResponse(status=200, headers=headers)
    rng = parse_range(ctx.request.headers.get("range"), info.size)
    if rng is None:
        headers["Content-Length"] = str(info.size)
        return HttpResponse(status=200, headers=headers, file_path=str(info.path), file_range=None)
    start, end = rng
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    headers.pop("x-oss-hash-crc64ecma", None)  # the CRC is of the whole object, not of the part sent
    headers.pop("Content-MD5", None)
    return HttpResponse(status=206, headers=headers, file_path=str(info.path), file_range=(start, end))


def _object_meta(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    info = ctx.store.head(bucket, key)
    headers = {
        "ETag": info.etag,
        "Content-Length": str(info.size),
        "Last-Modified": _http_date(info.mtime),
        "x-oss-last-access-time": _http_date(info.mtime),
        "x-oss-hash-crc64ecma": info.crc64,
    }
    return HttpResponse(status=200, headers=headers)


def _delete_object(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    ctx.store.delete_object(bucket, key)
    return HttpResponse(status=204, headers={"Content-Length": "0"})


def _append_object(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    raw = ctx.params.get("position", "")
    if not raw.isdigit():
        raise invalid_argument(
            "position", raw, "the current length of the appendable object (0 to create it)"
        )
    req = ctx.request
    info = ctx.store.append_object(
        bucket,
        key,
        int(raw),
        Incoming(_body(req), _length(req)),
        content_type=_content_type(req, key),
        meta=_stored_meta(req),
    )
    headers = {
        "ETag": info.etag,
        "x-oss-next-append-position": str(info.size),
        "x-oss-hash-crc64ecma": info.crc64,
        "Content-Length": "0",
    }
    return HttpResponse(status=200, headers=headers)


def _initiate_upload(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    upload_id = MultipartUploads(ctx.store).initiate(
        bucket, key, content_type=_content_type(ctx.request, key), meta=_stored_meta(ctx.request)
    )
    enc = _encoder(ctx.params)
    body = (
        "<InitiateMultipartUploadResult>"
        + (_xml("EncodingType", "url") if "encoding-type" in ctx.params else "")
        + _xml("Bucket", bucket)
        + _xml("Key", enc(key))
        + _xml("UploadId", upload_id)
        + "</InitiateMultipartUploadResult>"
    )
    return _xml_response(body)


def _upload_part(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    number = _int_param(ctx.params, "partNumber", 0, 1, 10000)
    req = ctx.request
    part = MultipartUploads(ctx.store).upload_part(
        bucket,
        key,
        ctx.params.get("uploadId", ""),
        number,
        Incoming(_body(req), _length(req), req.headers.get("content-md5")),
    )
    headers = {"ETag": part.etag, "x-oss-hash-crc64ecma": part.crc64, "Content-Length": "0"}
    headers["Content-MD5"] = base64.b64encode(bytes.fromhex(part.etag.strip('"'))).decode()
    return HttpResponse(status=200, headers=headers)


def _complete_upload(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    upload_id = ctx.params.get("uploadId", "")
    if (ctx.request.headers.get("x-oss-complete-all") or "").lower() == "yes":
        _read_small_body(ctx.request)
        parts = None
    else:
        root = _parse_xml(ctx.request, "CompleteMultipartUpload")
        parts = []
        for el in root.findall("Part"):
            number = (el.findtext("PartNumber") or "").strip()
            if not number.isdigit():
                raise OssError(400, "MalformedXML", f"PartNumber {number!r} is not a number.")
            parts.append((int(number), (el.findtext("ETag") or "").strip()))
    info = MultipartUploads(ctx.store).complete(bucket, key, upload_id, parts)
    enc = _encoder(ctx.params)
    host = ctx.request.host or ctx.endpoint(ctx.config.region)
    body = (
        "<CompleteMultipartUploadResult>"
        + (_xml("EncodingType", "url") if "encoding-type" in ctx.params else "")
        + _xml("Location", f"http://{host}/{bucket}/{quote(key)}")
        + _xml("Bucket", bucket)
        + _xml("Key", enc(key))
        + _xml("ETag", info.etag)
        + "</CompleteMultipartUploadResult>"
    )
    return _xml_response(body, headers={"x-oss-hash-crc64ecma": info.crc64})


def _abort_upload(ctx: _Ctx, bucket: str, key: str) -> HttpResponse:
    MultipartUploads(ctx.store).abort(bucket, key, ctx.params.get("uploadId", ""))
    return HttpResponse(status=204, headers={"Content-Length": "0"})


def _not_implemented(what: str) -> OssError:
    return OssError(501, "NotImplemented", f"{what} is not implemented by the local engine's object API.")


_NOT_SUBRESOURCES = frozenset({"security-token", "continuation-token", *_RESPONSE_OVERRIDES})


def _subresources(params: dict[str, str]) -> set[str]:
    """Query names that select another operation (``acl``, ``tagging``...), not plain parameters."""
    return set(params) & oss_signing.V1_SUBRESOURCES - _NOT_SUBRESOURCES


def _dispatch(ctx: _Ctx, bucket: str | None, key: str | None) -> HttpResponse:
    method = ctx.request.method
    p = ctx.params
    if bucket is None:
        if method == "GET":
            return _list_buckets(ctx)
        raise _not_implemented(f"{method} on the service")
    if key is None:
        if method == "PUT" and not p:
            return _put_bucket(ctx, bucket)
        if method == "GET" and "bucketInfo" in p:
            return _bucket_info(ctx, bucket)
        if method == "GET" and "location" in p:
            return _bucket_location(ctx, bucket)
        if method == "GET" and not _subresources(p):
            return _list_objects(ctx, bucket)
        if method == "DELETE" and not p:
            return _delete_bucket(ctx, bucket)
        if method == "POST" and "delete" in p:
            return _delete_multiple(ctx, bucket)
        raise _not_implemented(f"{method} on a bucket with {sorted(p) or 'no'} sub-resource")
    validate_key(key)
    if method == "PUT":
        if "partNumber" in p or "uploadId" in p:
            return _upload_part(ctx, bucket, key)
        if ctx.request.headers.get("x-oss-copy-source"):
            return _copy_object(ctx, bucket, key)
        if not _subresources(p):
            return _put_object(ctx, bucket, key)
    elif method in ("GET", "HEAD"):
        if "objectMeta" in p:
            return _object_meta(ctx, bucket, key)
        if not _subresources(p):
            return _get_object(ctx, bucket, key, head=method == "HEAD")
    elif method == "DELETE":
        if "uploadId" in p:
            return _abort_upload(ctx, bucket, key)
        if not _subresources(p):
            return _delete_object(ctx, bucket, key)
    elif method == "POST":
        if "uploads" in p:
            return _initiate_upload(ctx, bucket, key)
        if "uploadId" in p:
            return _complete_upload(ctx, bucket, key)
        if "append" in p:
            return _append_object(ctx, bucket, key)
    raise _not_implemented(f"{method} on an object with {sorted(p) or 'no'} sub-resource")


def handle(request: HttpRequest, config: EngineConfig, store: ObjectStore) -> HttpResponse:
    """Answer one OSS request (see the module docstring for the server contract)."""
    request_id = new_request_id()
    host_id = request.host.rsplit(":", 1)[0] if request.host else f"oss-{config.region}.aliyuncs.com"
    try:
        bucket, key = route(request, config)
        cred = oss_signing.verify(request, config, bucket, key)
        response = _dispatch(_Ctx(request, config, store, cred), bucket, key)
    except OssError as err:
        response = error_response(err, request, request_id, host_id)
    if request.method == "HEAD":
        response.body = b""
    response.headers["x-oss-request-id"] = request_id
    response.headers.setdefault("Date", _http_date(time.time()))
    response.headers.setdefault("Server", "AliyunOSS")
    return response
