"""Object API through the official ``alibabacloud_oss_v2`` client over real HTTP: objects, lists, styles."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest
import requests

from airflow_iprod.local.config import Credential
from airflow_iprod.local.objects import resolve_url
from tests.local.oss_server import RunningServer, from_engine

AK, SK = "LTAItestkey0001", "test-secret-0001"


@pytest.fixture(scope="module")
def server(local_engine: object) -> RunningServer:
    return from_engine(local_engine, Credential(AK, SK))


def make_client(
    endpoint: str, *, version: str = "v4", proxy: str | None = None, ak: str = AK, sk: str = SK
) -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk)
    cfg.region = "cn-shanghai"
    cfg.endpoint = endpoint
    cfg.signature_version = version
    cfg.retry_max_attempts = 1
    if proxy:
        cfg.proxy_host = {"http": proxy}  # the SDK turns a str into keys requests does not match
    return oss.Client(cfg)


@pytest.fixture(scope="module", params=["v4", "v1"])
def client(request: pytest.FixtureRequest, server: RunningServer) -> oss.Client:
    return make_client(server.endpoint, version=request.param)


@pytest.fixture
def bucket(client: oss.Client, request: pytest.FixtureRequest) -> str:
    name = "b-" + hashlib.md5(request.node.nodeid.encode()).hexdigest()[:20]
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    return name


def service_error(exc: BaseException) -> oss.exceptions.ServiceError:
    err = exc.unwrap() if hasattr(exc, "unwrap") else exc
    assert isinstance(err, oss.exceptions.ServiceError), repr(exc)
    return err


def test_put_get_head_delete_roundtrip(client: oss.Client, bucket: str) -> None:
    body = os.urandom(70_000)
    put = client.put_object(
        oss.PutObjectRequest(
            bucket=bucket,
            key="dir/clip 1+ü.bin",
            body=body,
            content_type="video/mp4",
            metadata={"origin": "t"},
        )
    )
    assert put.etag == '"' + hashlib.md5(body).hexdigest().upper() + '"'
    assert put.hash_crc64 and put.hash_crc64.isdigit()  # the SDK also checked it against its own CRC64

    got = client.get_object(oss.GetObjectRequest(bucket=bucket, key="dir/clip 1+ü.bin"))
    assert got.body.read() == body
    assert got.content_type == "video/mp4"
    assert got.metadata == {"origin": "t"}
    assert got.etag == put.etag

    head = client.head_object(oss.HeadObjectRequest(bucket=bucket, key="dir/clip 1+ü.bin"))
    assert head.content_length == len(body)
    assert head.object_type == "Normal"

    client.delete_object(oss.DeleteObjectRequest(bucket=bucket, key="dir/clip 1+ü.bin"))
    assert not client.is_object_exist(bucket, "dir/clip 1+ü.bin")
    with pytest.raises(oss.exceptions.OperationError) as info:
        client.head_object(oss.HeadObjectRequest(bucket=bucket, key="dir/clip 1+ü.bin"))
    err = service_error(info.value)
    assert (err.status_code, err.code) == (404, "NoSuchKey")  # decoded from x-oss-err: HEAD has no body


def test_range_reads(client: oss.Client, bucket: str) -> None:
    body = bytes(range(256)) * 40  # 10240 bytes
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="r", body=body))
    for header, want, span in [
        ("bytes=0-9", body[:10], "bytes 0-9/10240"),
        ("bytes=10000-", body[10000:], "bytes 10000-10239/10240"),
        ("bytes=-5", body[-5:], "bytes 10235-10239/10240"),
        ("bytes=10230-99999", body[10230:], "bytes 10230-10239/10240"),
    ]:
        got = client.get_object(oss.GetObjectRequest(bucket=bucket, key="r", range_header=header))
        assert got.status_code == 206, header
        assert got.content_range == span
        assert got.body.read() == want
    whole = client.get_object(oss.GetObjectRequest(bucket=bucket, key="r", range_header="bytes=9-3"))
    assert whole.status_code == 200 and whole.body.read() == body  # a malformed range is ignored
    with pytest.raises(oss.exceptions.OperationError) as info:
        client.get_object(oss.GetObjectRequest(bucket=bucket, key="r", range_header="bytes=10240-"))
    err = service_error(info.value)
    assert (err.status_code, err.code) == (416, "InvalidRange")


def _put_tree(client: oss.Client, bucket: str, keys: list[str]) -> None:
    for key in keys:
        client.put_object(oss.PutObjectRequest(bucket=bucket, key=key, body=key.encode()))


TREE = [
    "a.txt",
    "photos/2024/x.jpg",
    "photos/2024/y.jpg",
    "photos/2025/z.jpg",
    "photos/top.jpg",
    "videos/v.mp4",
]


def test_list_v2_delimiter_prefix_and_paging(client: oss.Client, bucket: str) -> None:
    _put_tree(client, bucket, TREE)
    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, delimiter="/"))
    assert [o.key for o in res.contents] == ["a.txt"]
    assert [p.prefix for p in res.common_prefixes] == ["photos/", "videos/"]
    assert res.key_count == 3 and not res.is_truncated

    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, prefix="photos/", delimiter="/"))
    assert [o.key for o in res.contents] == ["photos/top.jpg"]
    assert [p.prefix for p in res.common_prefixes] == ["photos/2024/", "photos/2025/"]

    seen, token, pages = [], None, 0
    while True:
        page = client.list_objects_v2(
            oss.ListObjectsV2Request(bucket=bucket, max_keys=2, continuation_token=token)
        )
        pages += 1
        seen += [o.key for o in page.contents or []]
        if not page.is_truncated:
            break
        token = page.next_continuation_token
    assert seen == sorted(TREE) and pages == 3

    after = client.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, start_after="photos/2025/z.jpg"))
    assert [o.key for o in after.contents] == ["photos/top.jpg", "videos/v.mp4"]

    paginator = client.list_objects_v2_paginator(limit=1)
    keys = [o.key for p in paginator.iter_page(oss.ListObjectsV2Request(bucket=bucket)) for o in p.contents]
    assert keys == sorted(TREE)


def test_list_v1_marker_and_delimiter_paging(client: oss.Client, bucket: str) -> None:
    _put_tree(client, bucket, TREE)
    seen, marker = [], ""
    while True:
        page = client.list_objects(
            oss.ListObjectsRequest(bucket=bucket, delimiter="/", max_keys=1, marker=marker)
        )
        seen += [o.key for o in page.contents or []] + [p.prefix for p in page.common_prefixes or []]
        if not page.is_truncated:
            break
        marker = page.next_marker
    assert seen == ["a.txt", "photos/", "videos/"]  # a rolled-up prefix counts once and pages past its keys


def test_list_encoding_type_url_round_trips_odd_keys(client: oss.Client, bucket: str) -> None:
    keys = ["odd/a&b<c>.txt", "odd/space here", "odd/plus+sign", "odd/中文.txt", "odd/pct%2e%2e"]
    _put_tree(client, bucket, keys)
    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, prefix="odd/", encoding_type="url"))
    assert sorted(o.key for o in res.contents) == sorted(keys)
    for key in keys:
        assert client.get_object(oss.GetObjectRequest(bucket=bucket, key=key)).body.read() == key.encode()


def test_buckets_list_info_and_errors(client: oss.Client, bucket: str) -> None:
    names = [b.name for b in client.list_buckets(oss.ListBucketsRequest()).buckets]
    assert bucket in names
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=bucket))
    assert info.bucket_info.name == bucket and info.bucket_info.location == "oss-cn-shanghai"

    with pytest.raises(oss.exceptions.OperationError) as again:
        client.put_bucket(oss.PutBucketRequest(bucket=bucket))
    assert (service_error(again.value).status_code, service_error(again.value).code) == (
        409,
        "BucketAlreadyExists",
    )

    with pytest.raises(oss.exceptions.OperationError) as missing:
        client.get_object(oss.GetObjectRequest(bucket="no-such-bucket-here", key="k"))
    assert service_error(missing.value).code == "NoSuchBucket"

    client.put_object(oss.PutObjectRequest(bucket=bucket, key="k", body=b"x"))
    with pytest.raises(oss.exceptions.OperationError) as busy:
        client.delete_bucket(oss.DeleteBucketRequest(bucket=bucket))
    assert (service_error(busy.value).status_code, service_error(busy.value).code) == (409, "BucketNotEmpty")
    client.delete_multiple_objects(
        oss.DeleteMultipleObjectsRequest(bucket=bucket, objects=[oss.DeleteObject("k")])
    )
    client.delete_bucket(oss.DeleteBucketRequest(bucket=bucket))
    assert bucket not in [b.name for b in client.list_buckets(oss.ListBucketsRequest()).buckets]


def test_copy_append_and_conditions(client: oss.Client, bucket: str) -> None:
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="src", body=b"payload", metadata={"m": "1"}))
    client.copy_object(
        oss.CopyObjectRequest(bucket=bucket, key="dst", source_bucket=bucket, source_key="src")
    )
    got = client.get_object(oss.GetObjectRequest(bucket=bucket, key="dst"))
    assert got.body.read() == b"payload" and got.metadata == {"m": "1"}

    r1 = client.append_object(oss.AppendObjectRequest(bucket=bucket, key="log", position=0, body=b"one,"))
    r2 = client.append_object(
        oss.AppendObjectRequest(bucket=bucket, key="log", position=r1.next_position, body=b"two")
    )
    assert r2.next_position == 7
    assert client.get_object(oss.GetObjectRequest(bucket=bucket, key="log")).body.read() == b"one,two"
    with pytest.raises(oss.exceptions.OperationError) as stale:
        client.append_object(oss.AppendObjectRequest(bucket=bucket, key="log", position=1, body=b"x"))
    assert service_error(stale.value).code == "PositionNotEqualToLength"

    with pytest.raises(oss.exceptions.OperationError) as cond:
        client.get_object(oss.GetObjectRequest(bucket=bucket, key="src", if_match='"0000"'))
    assert (service_error(cond.value).status_code, service_error(cond.value).code) == (
        412,
        "PreconditionFailed",
    )


def test_multipart_upload_and_ranged_download(client: oss.Client, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(300_000))
    # part_size 100 KiB -> 3 parts through Initiate/UploadPart/Complete; the SDK checks the combined CRC64.
    client.uploader(part_size=100 * 1024).upload_file(oss.PutObjectRequest(bucket=bucket, key="mp"), str(src))
    head = client.head_object(oss.HeadObjectRequest(bucket=bucket, key="mp"))
    assert head.object_type == "Multipart" and head.etag.endswith('-3"')
    dst = tmp_path / "dst.bin"
    client.downloader(part_size=64 * 1024).download_file(
        oss.GetObjectRequest(bucket=bucket, key="mp"), str(dst)
    )
    assert dst.read_bytes() == src.read_bytes()


def test_presigned_url(server: RunningServer, client: oss.Client, bucket: str) -> None:
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="shared.txt", body=b"presigned body"))
    signed = client.presign(oss.GetObjectRequest(bucket=bucket, key="shared.txt"))
    assert requests.get(signed.url, timeout=10).content == b"presigned body"
    tampered = signed.url.replace("shared.txt", "shared.tx")
    answer = requests.get(tampered, timeout=10)
    assert answer.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer.content


@pytest.mark.parametrize("endpoint", ["http://oss-cn-shanghai.aliyuncs.com", "http://localhost:{port}"])
def test_virtual_host_style(server: RunningServer, endpoint: str) -> None:
    # The SDK addresses bucket.<endpoint>; sending through the engine as an HTTP proxy keeps that Host header
    # (and the absolute-form target), exactly what a virtual-host request to the cloud carries.
    vclient = make_client(endpoint.format(port=server.port), proxy=server.endpoint)
    name = "vhost-" + hashlib.md5(endpoint.encode()).hexdigest()[:8]
    vclient.put_bucket(oss.PutBucketRequest(bucket=name))
    vclient.put_object(oss.PutObjectRequest(bucket=name, key="v/k.txt", body=b"vh"))
    assert vclient.get_object(oss.GetObjectRequest(bucket=name, key="v/k.txt")).body.read() == b"vh"
    listing = vclient.list_objects_v2(oss.ListObjectsV2Request(bucket=name))
    assert [o.key for o in listing.contents] == ["v/k.txt"]
    # ... and the same object is visible path-style and through resolve_url's URL forms
    path_client = make_client(server.endpoint)
    assert path_client.get_object(oss.GetObjectRequest(bucket=name, key="v/k.txt")).body.read() == b"vh"
    for url in (
        f"oss://{name}/v/k.txt",
        f"oss://{name}.oss-cn-shanghai.aliyuncs.com/v/k.txt",
        f"https://{name}.oss-cn-shanghai.aliyuncs.com/v/k.txt",
    ):
        assert resolve_url(url, server.store).read_bytes() == b"vh"


def test_error_body_format(server: RunningServer) -> None:
    answer = requests.get(f"{server.endpoint}/some-bucket/key", timeout=10)  # unsigned
    assert answer.status_code == 403
    root = ET.fromstring(answer.content)
    assert root.tag == "Error"
    assert [child.tag for child in root][:4] == ["Code", "Message", "RequestId", "HostId"]
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("RequestId") == answer.headers["x-oss-request-id"]
    assert answer.headers["Content-Type"] == "application/xml"


def test_refusals_name_the_operation(client: oss.Client, bucket: str) -> None:
    """What the engine does not imitate is 501 NotImplemented naming it, never a silent success."""
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="k", body=b"x"))
    refused = {
        "GetBucketStat": lambda: client.get_bucket_stat(oss.GetBucketStatRequest(bucket=bucket)),
        "x-oss-object-acl: public-read": lambda: client.put_object(
            oss.PutObjectRequest(bucket=bucket, key="pub", body=b"x", acl="public-read")
        ),
        "x-oss-storage-class: IA": lambda: client.put_object(
            oss.PutObjectRequest(bucket=bucket, key="ia", body=b"x", storage_class="IA")
        ),
        "Copying a version": lambda: client.copy_object(
            oss.CopyObjectRequest(
                bucket=bucket, key="v", source_bucket=bucket, source_key="k", source_version_id="CAEQ1"
            )
        ),
    }
    for named, call in refused.items():
        with pytest.raises(oss.exceptions.OperationError) as err:
            call()
        answer = service_error(err.value)
        assert (answer.status_code, answer.code) == (501, "NotImplemented"), named
        assert named in answer.message and "local engine" in answer.message
    assert not any(client.is_object_exist(bucket, k) for k in ("pub", "ia", "v"))
    # an explicit private ACL or Standard class is what the engine does anyway: accepted
    client.put_object(
        oss.PutObjectRequest(bucket=bucket, key="p", body=b"x", acl="private", storage_class="Standard")
    )
    # a missing bucket is NoSuchBucket first, as on OSS (SDKs probe bucket existence with such calls)
    with pytest.raises(oss.exceptions.OperationError) as missing:
        client.get_bucket_stat(oss.GetBucketStatRequest(bucket="no-such-bucket-here"))
    assert service_error(missing.value).code == "NoSuchBucket"
