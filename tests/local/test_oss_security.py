"""Object API: signatures (V4, V1, presigned, STS) checked like OSS, and no key escapes the store."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest
import requests
from alibabacloud_oss_v2.signer import SignerV1, SignerV4
from alibabacloud_oss_v2.types import Credentials, SigningContext
from alibabacloud_oss_v2.types import HttpRequest as SdkRequest

from airflow_iprod.local.config import Credential
from airflow_iprod.local.objects import validate_key
from airflow_iprod.local.oss_errors import OssError
from tests.local.oss_server import RunningServer, from_engine
from tests.local.test_oss_api import make_client

AK, SK = "LTAIsecurity0001", "security-secret-1"
STS_AK, STS_SK, STS_TOKEN = "STS.tmpkey0001", "sts-secret-1", "CAIS-token-value-1"
BUCKET = "sec-bucket"


@pytest.fixture(scope="module")
def server(local_engine: object) -> RunningServer:
    running = from_engine(local_engine, Credential(AK, SK), Credential(STS_AK, STS_SK, STS_TOKEN))
    running.store.create_bucket(BUCKET, "cn-shanghai")
    return running


@pytest.fixture(scope="module")
def root(server: RunningServer) -> Path:
    """The directory holding the engine's data dir, with a sentinel ``outside`` folder next to it."""
    base = server.config.data_dir.parent
    (base / "outside").mkdir(exist_ok=True)
    (base / "outside" / "secret.txt").write_text("do not read")
    return base


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file() or p.is_symlink()}


def raw_call(
    server: RunningServer,
    method: str,
    raw_path: str,
    bucket: str | None,
    key: str | None,
    *,
    body: bytes = b"",
    version: str = "v4",
    secret: str = SK,
    signing_time: dt.datetime | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Sign (bucket, key) with the SDK's own signer and send ``raw_path`` byte for byte."""
    sdk_request = SdkRequest(method, f"{server.endpoint}{raw_path}", headers={})
    ctx = SigningContext(
        product="oss",
        region="cn-shanghai",
        bucket=bucket,
        key=key,
        request=sdk_request,
        credentials=Credentials(AK, secret),
        signing_time=signing_time,
    )
    (SignerV4() if version == "v4" else SignerV1()).sign(ctx)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = dict(sdk_request.headers)
    headers["Content-Length"] = str(len(body))
    conn.request(method, raw_path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, dict(answer.getheaders()), data


def error_code(data: bytes) -> str | None:
    return ET.fromstring(data).findtext("Code")


def test_signed_raw_call_works(server: RunningServer) -> None:
    for version in ("v4", "v1"):
        status, _, _ = raw_call(
            server, "PUT", f"/{BUCKET}/plain.txt", BUCKET, "plain.txt", body=b"x", version=version
        )
        assert status == 200
        status, _, data = raw_call(
            server, "GET", f"/{BUCKET}/plain.txt", BUCKET, "plain.txt", version=version
        )
        assert (status, data) == (200, b"x")


@pytest.mark.parametrize("version", ["v4", "v1"])
def test_wrong_secret_and_unknown_key_are_refused(server: RunningServer, version: str) -> None:
    wrong = make_client(server.endpoint, version=version, ak=AK, sk="not-the-secret")
    with pytest.raises(oss.exceptions.OperationError) as info:
        wrong.get_object(oss.GetObjectRequest(bucket=BUCKET, key="plain.txt"))
    err = info.value.unwrap()
    assert (err.status_code, err.code) == (403, "SignatureDoesNotMatch")

    unknown = make_client(server.endpoint, version=version, ak="LTAInobody", sk=SK)
    with pytest.raises(oss.exceptions.OperationError) as info:
        unknown.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET))
    err = info.value.unwrap()
    assert (err.status_code, err.code) == (403, "InvalidAccessKeyId")


def test_signature_covers_key_and_time(server: RunningServer) -> None:
    # signed for one key, sent for another
    status, _, data = raw_call(server, "GET", f"/{BUCKET}/other.txt", BUCKET, "plain.txt")
    assert (status, error_code(data)) == (403, "SignatureDoesNotMatch")
    assert b"<StringToSign>" in data and b"<CanonicalRequest>" in data
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    for version in ("v4", "v1"):
        status, _, data = raw_call(
            server, "GET", f"/{BUCKET}/plain.txt", BUCKET, "plain.txt", version=version, signing_time=stale
        )
        assert (status, error_code(data)) == (403, "RequestTimeTooSkewed"), version


def test_sts_token_is_required_and_checked(server: RunningServer) -> None:
    def sts_client(token: str | None) -> oss.Client:
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(STS_AK, STS_SK, token)
        cfg.region, cfg.endpoint, cfg.retry_max_attempts = "cn-shanghai", server.endpoint, 1
        return oss.Client(cfg)

    sts_client(STS_TOKEN).put_object(oss.PutObjectRequest(bucket=BUCKET, key="sts.txt", body=b"s"))
    for token, code in ((None, "AccessDenied"), ("CAIS-forged", "InvalidSecurityToken")):
        with pytest.raises(oss.exceptions.OperationError) as info:
            sts_client(token).get_object(oss.GetObjectRequest(bucket=BUCKET, key="sts.txt"))
        assert (info.value.unwrap().status_code, info.value.unwrap().code) == (403, code)


def test_v1_presigned_url_and_expiry(server: RunningServer) -> None:
    v1 = make_client(server.endpoint, version="v1", ak=AK, sk=SK)
    signed = v1.presign(oss.GetObjectRequest(bucket=BUCKET, key="plain.txt"))
    assert "OSSAccessKeyId=" in signed.url
    assert requests.get(signed.url, timeout=10).content == b"x"
    expired = v1.presign(
        oss.GetObjectRequest(bucket=BUCKET, key="plain.txt"),
        expiration=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5),
    )
    answer = requests.get(expired.url, timeout=10)
    assert (answer.status_code, error_code(answer.content)) == (403, "AccessDenied")


# Crafted (raw path, decoded key) pairs: each is validly signed, so only the key rules can stop it.
TRAVERSALS = [
    ("/sec-bucket/..%2F..%2F..%2Foutside%2Fpwned.txt", "../../../outside/pwned.txt"),
    ("/sec-bucket/a/../../../outside/pwned.txt", "a/../../../outside/pwned.txt"),
    ("/sec-bucket/%2e%2e/%2e%2e/outside/pwned.txt", "../../outside/pwned.txt"),
    ("/sec-bucket/..%5C..%5Coutside%5Cpwned.txt", "..\\..\\outside\\pwned.txt"),
    ("/sec-bucket/%2Ftmp%2Fpwned.txt", "/tmp/pwned.txt"),
    ("/sec-bucket/ok%00.txt", "ok\x00.txt"),
    ("/sec-bucket/x/./y", "x/./y"),
]


@pytest.mark.parametrize(("raw_path", "key"), TRAVERSALS)
def test_path_traversal_is_refused(server: RunningServer, root: Path, raw_path: str, key: str) -> None:
    before = files_under(root)
    status, _, data = raw_call(server, "PUT", raw_path, BUCKET, key, body=b"attack")
    assert (status, error_code(data)) == (400, "InvalidObjectName")
    status, _, data = raw_call(server, "GET", raw_path, BUCKET, key)
    assert (status, error_code(data)) == (400, "InvalidObjectName")
    created = files_under(root) - before
    assert all(p.is_relative_to(server.config.data_dir) and "pwned" not in p.name for p in created)
    assert (root / "outside" / "secret.txt").read_text() == "do not read"
    assert sorted(p.name for p in (root / "outside").iterdir()) == ["secret.txt"]


def test_bucket_traversal_and_bad_names_are_refused(server: RunningServer) -> None:
    for raw_path in ("/..%2Foutside/secret.txt", "/%2e%2e/secret.txt", "/Bad_Name/k"):
        status, _, data = raw_call(server, "GET", raw_path, None, None)
        assert (status, error_code(data)) == (400, "InvalidBucketName"), raw_path


def test_odd_but_legal_keys_stay_inside(server: RunningServer, root: Path) -> None:
    # "%252f" decodes once to the literal text "%2f": a legal key, not a traversal; stored under a hash name.
    for key, raw in (("..%2fx", "/sec-bucket/..%252fx"), ("a..b/c..", "/sec-bucket/a..b/c..")):
        status, _, _ = raw_call(server, "PUT", raw, BUCKET, key, body=b"legal")
        assert status == 200
        path = server.store.path_for(BUCKET, key)
        assert path.resolve().is_relative_to(server.config.data_dir.resolve())
        assert path.read_bytes() == b"legal"


def test_symlinked_bucket_directory_cannot_redirect_writes(tmp_path: Path) -> None:
    from airflow_iprod.local.objects import ObjectStore

    outside = tmp_path / "outside"
    outside.mkdir()
    store = ObjectStore(tmp_path / "data" / "objects")
    store.create_bucket("linked", "cn-shanghai")
    bucket_dir = store.root / "linked"
    bucket_dir.rmdir()
    bucket_dir.symlink_to(outside, target_is_directory=True)
    with pytest.raises(OssError) as info:
        store.put_object("linked", "k", __import__("io").BytesIO(b"data"))
    assert info.value.code == "AccessDenied"
    assert list(outside.iterdir()) == []
    assert list((store.root / ".tmp").iterdir()) == []  # the half-written body was removed too


@pytest.mark.parametrize(
    "key", ["", "/abs", "\\abs", "a/../b", "..", "a\\..\\b", "nul\x00", "tab\tkey", "x" * 1024, "é" * 512]
)
def test_validate_key_rejects(key: str) -> None:
    with pytest.raises(OssError) as info:
        validate_key(key)
    assert info.value.code == "InvalidObjectName" and info.value.status == 400


def test_validate_key_accepts_ordinary_keys() -> None:
    for key in ("a", "a/b/c.mp4", "dir/", "…/中文 名.wav", "a..b", ".hidden", "x" * 1023, os.sep.join("ab")):
        assert validate_key(key) == key
