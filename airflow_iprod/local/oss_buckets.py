"""Service- and bucket-level OSS operations: ListBuckets, PutBucket, GetBucketInfo, GetBucketLocation,
GetBucketAcl, DeleteBucket, ListObjects (V1 and V2), DeleteMultipleObjects.

Each handler takes the verified Call and answers an HttpResponse or raises OssError; ``oss_api`` chooses
the handler and renders errors.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from airflow_iprod.local.http import HttpResponse
from airflow_iprod.local.object_db import BucketInfo, ObjectInfo
from airflow_iprod.local.oss_errors import OssError, invalid_argument
from airflow_iprod.local.oss_wire import (
    Call,
    acl_policy,
    encoder,
    int_param,
    iso,
    no_content,
    parse_xml,
    read_small_body,
    xml,
    xml_response,
)


def _where(call: Call, b: BucketInfo) -> str:
    """The creation date and endpoint elements ListBuckets and GetBucketInfo both give."""
    return (
        xml("CreationDate", iso(b.created))
        + xml("ExtranetEndpoint", call.endpoint(b.region))
        + xml("IntranetEndpoint", f"oss-{b.region}-internal.aliyuncs.com")
        + xml("Location", f"oss-{b.region}")
    )


def list_buckets(call: Call) -> HttpResponse:
    prefix = call.params.get("prefix", "")
    marker = call.params.get("marker", "")
    max_keys = int_param(call.params, "max-keys", 100, 1, 1000)
    buckets, truncated = call.store.list_buckets(prefix, marker, max_keys)
    parts = ["<ListAllMyBucketsResult>"]
    if prefix or marker or "max-keys" in call.params:
        parts += [xml("Prefix", prefix), xml("Marker", marker), xml("MaxKeys", max_keys)]
        parts.append(xml("IsTruncated", str(truncated).lower()))
        if truncated:
            parts.append(xml("NextMarker", buckets[-1].name))
    parts.append(call.owner() + "<Buckets>")
    for b in buckets:
        parts.append(
            "<Bucket>"
            + _where(call, b)
            + xml("Name", b.name)
            + xml("Region", b.region)
            + xml("StorageClass", "Standard")
            + "</Bucket>"
        )
    parts.append("</Buckets></ListAllMyBucketsResult>")
    return xml_response("".join(parts))


def put_bucket(call: Call) -> HttpResponse:
    read_small_body(call.request)  # CreateBucketConfiguration (storage class, redundancy): accepted, not used
    if not call.store.create_bucket(call.bucket, call.config.region):
        raise OssError(
            409,
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket "
            "namespace is shared by all users of the system. Please select a different name and try "
            "again.",
            BucketName=call.bucket,
        )
    return HttpResponse(status=200, headers={"Location": f"/{call.bucket}", "Content-Length": "0"})


def bucket_info(call: Call) -> HttpResponse:
    b = call.store.bucket(call.bucket)
    body = (
        "<BucketInfo><Bucket>"
        + xml("AccessMonitor", "Disabled")
        + _where(call, b)
        + xml("StorageClass", "Standard")
        + xml("DataRedundancyType", "LRS")
        + xml("TransferAcceleration", "Disabled")
        + xml("CrossRegionReplication", "Disabled")
        + xml("Name", b.name)
        + xml("Region", b.region)
        + call.owner()
        + "<AccessControlList><Grant>private</Grant></AccessControlList>"
        + "<ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm></ServerSideEncryptionRule>"
        + "<BucketPolicy><LogBucket></LogBucket><LogPrefix></LogPrefix></BucketPolicy>"
        + "</Bucket></BucketInfo>"
    )
    return xml_response(body)


def bucket_location(call: Call) -> HttpResponse:
    return xml_response(xml("LocationConstraint", f"oss-{call.store.bucket(call.bucket).region}"))


def bucket_acl(call: Call) -> HttpResponse:
    call.store.bucket(call.bucket)
    return acl_policy(call, "private")


def delete_bucket(call: Call) -> HttpResponse:
    call.store.delete_bucket(call.bucket)
    return no_content()


def _contents_xml(info: ObjectInfo, enc: Callable[[str], str], owner: str | None) -> str:
    return (
        "<Contents>"
        + xml("Key", enc(info.key))
        + xml("LastModified", iso(info.mtime))
        + xml("ETag", info.etag)
        + xml("Type", info.kind)
        + xml("Size", info.size)
        + xml("StorageClass", "Standard")
        + (owner or "")
        + "</Contents>"
    )


def list_objects(call: Call) -> HttpResponse:
    """ListObjects (V1, ``marker``) and ListObjectsV2 (``list-type=2``, ``continuation-token``)."""
    p, bucket = call.params, call.bucket
    v2 = p.get("list-type") == "2"
    if "list-type" in p and not v2:
        raise invalid_argument("list-type", p["list-type"], "2 (ListObjectsV2) or absent (ListObjects)")
    enc = encoder(p)
    prefix, delimiter = p.get("prefix", ""), p.get("delimiter", "")
    max_keys = int_param(p, "max-keys", 100, 0, 1000)
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
    page = call.store.list_objects(
        bucket, prefix=prefix, delimiter=delimiter, start_after=start, max_keys=max_keys
    )
    owner = call.owner() if (not v2 or p.get("fetch-owner") == "true") else None
    parts = ["<ListBucketResult>", xml("Name", bucket), xml("Prefix", enc(prefix))]
    if v2:
        if "start-after" in p:
            parts.append(xml("StartAfter", enc(p["start-after"])))
        if "continuation-token" in p:
            parts.append(xml("ContinuationToken", p["continuation-token"]))
    else:
        parts.append(xml("Marker", enc(start)))
    parts.append(xml("MaxKeys", max_keys))
    parts.append(xml("Delimiter", enc(delimiter)))
    if "encoding-type" in p:
        parts.append(xml("EncodingType", "url"))
    parts.append(xml("IsTruncated", str(page.truncated).lower()))
    if page.truncated:
        if v2:
            token = base64.urlsafe_b64encode(page.next_marker.encode("utf-8")).decode()
            parts.append(xml("NextContinuationToken", token))
        else:
            parts.append(xml("NextMarker", enc(page.next_marker)))
    if v2:
        parts.append(xml("KeyCount", len(page.contents) + len(page.common_prefixes)))
    parts += [_contents_xml(info, enc, owner) for info in page.contents]
    parts += [f"<CommonPrefixes>{xml('Prefix', enc(cp))}</CommonPrefixes>" for cp in page.common_prefixes]
    parts.append("</ListBucketResult>")
    return xml_response("".join(parts))


def delete_multiple(call: Call) -> HttpResponse:
    """DeleteMultipleObjects. ``encoding-type=url`` is how the response names keys; the request's keys are
    plain XML text (both oss2 and alibabacloud_oss_v2 send them so), never percent-decoded."""
    root = parse_xml(call.request, "Delete")
    enc = encoder(call.params)
    quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
    keys = [(o.findtext("Key") or "") for o in root.findall("Object")]
    if not keys or len(keys) > 1000:
        raise OssError(400, "MalformedXML", "DeleteMultipleObjects takes 1 to 1000 <Object><Key> entries.")
    call.store.bucket(call.bucket)
    for key in keys:
        call.store.delete_object(call.bucket, key)
    body = "<DeleteResult>" + (xml("EncodingType", "url") if "encoding-type" in call.params else "")
    if not quiet:
        body += "".join(f"<Deleted>{xml('Key', enc(k))}</Deleted>" for k in keys)
    return xml_response(body + "</DeleteResult>")
