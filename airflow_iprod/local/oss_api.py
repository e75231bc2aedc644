"""OSS-compatible object API of the local engine (for ``alibabacloud_oss_v2``, ``oss2``, ``ossfs``, OSSHook).

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

Operations: ListBuckets (GetService), PutBucket, GetBucketInfo, GetBucketLocation, GetBucketAcl, DeleteBucket,
ListObjects (V1), ListObjectsV2, DeleteMultipleObjects, PutObject, CopyObject, GetObject (Range, conditions,
response-* overrides), HeadObject, GetObjectMeta, GetObjectAcl, DeleteObject, AppendObject, multipart upload
(Initiate, UploadPart, UploadPartCopy, ListParts, ListMultipartUploads, Complete, Abort).
Anything else (another ACL, tagging, lifecycle, versioning, ...) answers 501 NotImplemented in OSS's XML error
format, naming the operation (``operation_name``), after NoSuchBucket if the bucket is not there; so do writes
whose headers ask for a public ACL, another storage class or tags.

Layout: this module is the edge -- addressing, signature check, the operation table and the one place where
an OssError becomes OSS's XML error body. The handlers live in ``oss_buckets`` (service and bucket level),
``oss_objects`` and ``oss_multipart``; what they share is in ``oss_wire``.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import time
from collections.abc import Callable, Iterator
from urllib.parse import unquote

from airflow_iprod.local import oss_buckets, oss_multipart, oss_objects, oss_signing
from airflow_iprod.local.config import EngineConfig
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.object_names import validate_bucket_name, validate_key
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError, invalid_object_name, not_served
from airflow_iprod.local.oss_wire import XML_HEAD, Call, http_date, xml

_ALIYUN_HOST = re.compile(r"^(?:(?P<bucket>[^.]+)\.)?(?P<endpoint>oss-[a-z0-9-]+\.aliyuncs\.com)$")


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


# -- the operation table ----------------------------------------------------------------------------------

Handler = Callable[[Call], HttpResponse]
SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
# Selectors that are not query keys (the parentheses keep them apart from any real query name).
NO_QUERY = "(no query)"  # no query parameter at all
PLAIN = "(no sub-resource)"  # no query parameter that names another operation (acl, tagging...)
COPY_SOURCE = "(x-oss-copy-source)"  # the header that makes a PUT a CopyObject
PART_COPY = "(uploadId + x-oss-copy-source)"  # ... and a part upload an UploadPartCopy
ANY = "(any)"
_LEVEL_NAMES = {SERVICE: "the service", BUCKET: "a bucket", OBJECT: "an object"}
# Query keys that select an operation; when several are present the first listed wins
# (``?uploads&uploadId`` initiates, ``?bucketInfo&location`` is GetBucketInfo).
_QUERY_SELECTORS = (
    "acl",
    "uploads",
    "uploadId",
    "partNumber",
    "bucketInfo",
    "location",
    "objectMeta",
    "delete",
    "append",
)

# (method, level, selector) -> handler. A request is tried against its selectors in _selectors' order.
OPERATIONS: dict[tuple[str, str, str], Handler] = {
    ("GET", SERVICE, ANY): oss_buckets.list_buckets,
    ("PUT", BUCKET, NO_QUERY): oss_buckets.put_bucket,
    ("GET", BUCKET, "bucketInfo"): oss_buckets.bucket_info,
    ("GET", BUCKET, "location"): oss_buckets.bucket_location,
    ("GET", BUCKET, "acl"): oss_buckets.bucket_acl,
    ("GET", BUCKET, PLAIN): oss_buckets.list_objects,
    ("DELETE", BUCKET, NO_QUERY): oss_buckets.delete_bucket,
    ("POST", BUCKET, "delete"): oss_buckets.delete_multiple,
    ("GET", BUCKET, "uploads"): oss_multipart.list_uploads,
    ("PUT", OBJECT, PART_COPY): oss_multipart.upload_part_copy,
    ("PUT", OBJECT, "partNumber"): oss_multipart.upload_part,
    ("PUT", OBJECT, "uploadId"): oss_multipart.upload_part,
    ("PUT", OBJECT, COPY_SOURCE): oss_objects.copy_object,
    ("PUT", OBJECT, PLAIN): oss_objects.put_object,
    ("GET", OBJECT, "uploadId"): oss_multipart.list_parts,
    ("GET", OBJECT, "objectMeta"): oss_objects.object_meta,
    ("GET", OBJECT, "acl"): oss_objects.object_acl,
    ("GET", OBJECT, PLAIN): oss_objects.get_object,
    ("HEAD", OBJECT, "objectMeta"): oss_objects.object_meta,
    ("HEAD", OBJECT, PLAIN): oss_objects.get_object,
    ("DELETE", OBJECT, "uploadId"): oss_multipart.abort_upload,
    ("DELETE", OBJECT, PLAIN): oss_objects.delete_object,
    ("POST", OBJECT, "uploads"): oss_multipart.initiate_upload,
    ("POST", OBJECT, "uploadId"): oss_multipart.complete_upload,
    ("POST", OBJECT, "append"): oss_objects.append_object,
}

_NOT_SUBRESOURCES = frozenset({"security-token", "continuation-token", *oss_objects.RESPONSE_OVERRIDES})


def _subresources(params: dict[str, str]) -> set[str]:
    """Query names that select another operation (``acl``, ``tagging``...), not plain parameters."""
    return set(params) & oss_signing.V1_SUBRESOURCES - _NOT_SUBRESOURCES


def _selectors(call: Call) -> Iterator[str]:
    """Every selector the request matches, most specific first."""
    copying = bool(call.request.headers.get("x-oss-copy-source"))
    if copying and "uploadId" in call.params:
        yield PART_COPY
    yield from (name for name in _QUERY_SELECTORS if name in call.params)
    if copying:
        yield COPY_SOURCE
    if not _subresources(call.params):
        yield PLAIN
    if not call.params:
        yield NO_QUERY
    yield ANY


# OSS's names for the operations a sub-resource selects when the general rule (verb + Bucket/Object +
# sub-resource, e.g. GetBucketLifecycle) does not give them.
_OPERATION_NAMES = {
    ("GET", BUCKET, "versions"): "ListObjectVersions",
    ("GET", OBJECT, "versionId"): "GetObject (of a version)",
    ("HEAD", OBJECT, "versionId"): "HeadObject (of a version)",
    ("DELETE", OBJECT, "versionId"): "DeleteObject (of a version)",
    ("PUT", OBJECT, "symlink"): "PutSymlink",
    ("GET", OBJECT, "symlink"): "GetSymlink",
    ("POST", OBJECT, "restore"): "RestoreObject",
    ("GET", OBJECT, "x-oss-process"): "GetObject with x-oss-process (image/video processing)",
    ("POST", OBJECT, "x-oss-process"): "ProcessObject",
}


def operation_name(method: str, level: str, params: dict[str, str]) -> str:
    """OSS's name for a request the engine does not serve, e.g. ``GetBucketAcl`` or ``PutObjectTagging``."""
    subs = sorted(_subresources(params)) or sorted(params)
    if level == SERVICE or not subs:
        return f"{method} on {_LEVEL_NAMES[level]}"
    sub = subs[0]
    named = _OPERATION_NAMES.get((method, level, sub))
    if named:
        return named
    verb = method.capitalize() if method != "HEAD" else "Get"
    return f"{verb}{level.capitalize()}{sub[0].upper()}{sub[1:]}"


def _handler(call: Call, level: str) -> Handler:
    method = call.request.method
    for selector in _selectors(call):
        handler = OPERATIONS.get((method, level, selector))
        if handler is not None:
            return handler
    if call.bucket:
        call.store.bucket(call.bucket)  # NoSuchBucket comes first, as on OSS (SDKs probe buckets this way)
    raise not_served(operation_name(method, level, call.params))


# -- the edge ---------------------------------------------------------------------------------------------


def error_response(err: OssError, request: HttpRequest, request_id: str, host_id: str) -> HttpResponse:
    """OSS's ``<Error>`` body for ``err`` -- the only place an error becomes XML."""
    parts = [xml("Code", err.code), xml("Message", err.message), xml("RequestId", request_id)]
    parts.append(xml("HostId", host_id))
    parts += [xml(k, v) for k, v in err.extra.items()]
    body = XML_HEAD + "<Error>\n  " + "\n  ".join(parts) + "\n</Error>\n"
    data = body.encode("utf-8")
    headers = {"Content-Type": "application/xml", "Content-Length": str(len(data))}
    if request.method == "HEAD":
        # No body on HEAD: the SDKs read the error from this header instead.
        headers["x-oss-err"] = base64.b64encode(data).decode()
        headers["Content-Length"] = "0"
        data = b""
    return HttpResponse(status=err.status, headers=headers, body=data)


# Write headers asking for what the engine does not imitate, with the values it does serve (lower case).
_SERVED_HEADER_VALUES = {
    "x-oss-acl": {"private"},
    "x-oss-object-acl": {"private", "default"},
    "x-oss-storage-class": {"standard"},
    "x-oss-tagging": {""},
}


def _refuse_unserved_headers(request: HttpRequest) -> None:
    """A write asking for a public ACL, another storage class or tags is refused, not silently ignored."""
    if request.method not in ("PUT", "POST"):
        return
    for name, served in _SERVED_HEADER_VALUES.items():
        value = request.headers.get(name)
        if value is not None and value.strip().lower() not in served:
            raise not_served(
                f"The header {name}: {value}",
                "buckets and objects are private, Standard storage and untagged there",
            )


def _answer(request: HttpRequest, config: EngineConfig, store: ObjectStore) -> HttpResponse:
    if request.problem is not None:  # refused by the HTTP server (too large, bad framing)
        raise OssError(request.problem.status, request.problem.oss_code, request.problem.message)
    bucket, key = route(request, config)
    cred = oss_signing.verify(request, config, bucket, key)
    level = SERVICE if bucket is None else BUCKET if key is None else OBJECT
    if key is not None:
        validate_key(key)
    call = Call(request, config, store, cred, bucket or "", key or "")
    handler = _handler(call, level)
    _refuse_unserved_headers(request)
    return handler(call)


def handle(request: HttpRequest, config: EngineConfig, store: ObjectStore) -> HttpResponse:
    """Answer one OSS request (see the module docstring for the server contract)."""
    request_id = new_request_id()
    host_id = request.host.rsplit(":", 1)[0] if request.host else f"oss-{config.region}.aliyuncs.com"
    try:
        response = _answer(request, config, store)
    except OssError as err:
        response = error_response(err, request, request_id, host_id)
    if request.method == "HEAD":
        response.body = b""
    response.headers["x-oss-request-id"] = request_id
    response.headers.setdefault("Date", http_date(time.time()))
    response.headers.setdefault("Server", "AliyunOSS")
    return response
