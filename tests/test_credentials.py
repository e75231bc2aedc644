"""A connection without keys: the hook's ICE client and the OSS client both sign with the Alibaba Cloud
default credential chain, here fed by a credentials file, the environment, or a credentials URI
serving STS credentials (what the chain can reach offline; the ECS metadata server it cannot).

The local engine checks every signature and STS token, so a wrong source fails these tests.
The credentials library reads its ALIBABA_CLOUD_* variables once, at import, into ``auth_util``;
setting those values there is what a process started with the variables sees.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_iprod.hooks import iproduction as hook_module
from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.local.config import Credential


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """No credential anywhere the chain looks (this machine's own files and variables hidden)."""
    from alibabacloud_credentials.utils import auth_util

    for name in ("environment_access_key_id", "environment_access_key_secret", "environment_security_token"):
        monkeypatch.setattr(auth_util, name, None)
    monkeypatch.setattr(auth_util, "enable_oidc_credential", False)
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_credentials_uri", None)
    monkeypatch.setattr(auth_util, "environment_credentials_file", str(tmp_path / "absent.ini"))
    monkeypatch.setattr(auth_util, "client_type", "default")
    # the OSS SDK's own variables are not part of the chain: prove nothing falls back to them
    monkeypatch.delenv("OSS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("OSS_ACCESS_KEY_SECRET", raising=False)
    # each test builds its clients afresh (the process-wide cache would keep an earlier chain)
    monkeypatch.setattr(hook_module, "_CLIENTS", {})
    return auth_util


@pytest.fixture
def keyless_conn(local_engine: Any, make_conn: Any) -> str:
    return make_conn(local_engine, "iprod_keyless", access_key_id=None, access_key_secret=None)


def _oss_round_trip(conn_id: str, key: str) -> bytes:
    import alibabacloud_oss_v2 as oss

    client = IProductionHook(conn_id).oss_client()
    body = f"written with the default chain: {key}".encode()
    client.put_object(oss.PutObjectRequest(bucket="media", key=key, body=body))
    got = client.get_object(oss.GetObjectRequest(bucket="media", key=key)).body.read()
    assert got == body
    return got


def _signed_query_ok(conn_id: str, **hook_args: Any) -> tuple[bool, str]:
    hook = IProductionHook(conn_id, **hook_args)
    assert hook.settings().access_key_id is None  # the connection really has no keys
    return hook.test_connection()  # Query of an unknown job: NotExist means the signature was good


def test_credentials_file(chain, keyless_conn, local_engine, tmp_path):
    ini = tmp_path / "credentials.ini"
    chain.client_type = "iprod"  # ALIBABA_CLOUD_PROFILE=iprod
    chain.environment_credentials_file = str(ini)  # ALIBABA_CLOUD_CREDENTIALS_FILE
    ini.write_text(
        "[default]\ntype = access_key\naccess_key_id = LTAIwrongprofile\naccess_key_secret = nope\n\n"
        "[iprod]\ntype = access_key\n"
        f"access_key_id = {local_engine.access_key_id}\n"
        f"access_key_secret = {local_engine.access_key_secret}\n"
    )
    ok, message = _signed_query_ok(keyless_conn)
    assert ok, message
    _oss_round_trip(keyless_conn, "chain/file.txt")

    # the same file with a wrong secret: the engine refuses both clients' signatures
    ini.write_text(
        f"[iprod]\ntype = access_key\naccess_key_id = {local_engine.access_key_id}\naccess_key_secret = bad\n"
    )
    hook_module._CLIENTS.clear()
    ok, message = _signed_query_ok(keyless_conn)
    assert not ok and "Signature" in message, message
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        _oss_round_trip(keyless_conn, "chain/file-bad.txt")


def test_environment(chain, keyless_conn, local_engine):
    chain.environment_access_key_id = local_engine.access_key_id  # ALIBABA_CLOUD_ACCESS_KEY_ID
    chain.environment_access_key_secret = local_engine.access_key_secret
    ok, message = _signed_query_ok(keyless_conn, api="mts")
    assert ok, message
    _oss_round_trip(keyless_conn, "chain/env.txt")


def test_no_credential_anywhere_fails_clearly(chain, keyless_conn):
    ok, message = _signed_query_ok(keyless_conn, read_timeout=2, connect_timeout=2)
    assert not ok and "unable to load credentials" in message, message
    with pytest.raises(Exception, match="unable to load credentials"):
        _oss_round_trip(keyless_conn, "chain/none.txt")


class _StsServer(ThreadingHTTPServer):
    """What ALIBABA_CLOUD_CREDENTIALS_URI points at: temporary credentials with an STS token."""

    def __init__(self, answer: dict[str, str]) -> None:
        self.answer = answer
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps(server.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def sts_server(monkeypatch: pytest.MonkeyPatch, local_engine: Any) -> Iterator[_StsServer]:
    key_id, secret, token = "STS.iprodtemporary", "sts-secret-for-the-chain-test", "sts-token-123"
    monkeypatch.setitem(local_engine.config.credentials, key_id, Credential(key_id, secret, token))
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    server = _StsServer(
        {
            "Code": "Success",
            "AccessKeyId": key_id,
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": expires,
        }
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_credentials_uri_sts_token(chain, keyless_conn, sts_server):
    """Temporary credentials (as a RAM role or OIDC hands out): both clients send the STS token, which
    the engine requires for this key, and the chain caches them instead of asking per request."""
    chain.environment_credentials_uri = f"http://127.0.0.1:{sts_server.server_port}/credentials"
    ok, message = _signed_query_ok(keyless_conn)
    assert ok, message
    _async_query_reaches_engine(keyless_conn)
    _oss_round_trip(keyless_conn, "chain/sts.txt")
    _oss_round_trip(keyless_conn, "chain/sts-2.txt")
    assert 1 <= sts_server.hits <= 3  # one fetch per chain built (hook client, two OSS clients)

    # a token the engine does not expect: refused, so the token really travels and is checked
    sts_server.answer = {**sts_server.answer, "SecurityToken": "stale-token"}
    hook_module._CLIENTS.clear()
    ok, message = _signed_query_ok(keyless_conn)
    assert not ok and "SecurityToken" in message, message
    with pytest.raises(Exception, match="InvalidSecurityToken"):
        _oss_round_trip(keyless_conn, "chain/sts-bad.txt")


def _async_query_reaches_engine(conn_id: str) -> None:
    """The triggerer's path: the ``*_async`` SDK calls ask the chain asynchronously."""
    from airflow_iprod.errors import IProductionError

    with pytest.raises(IProductionError) as err:
        asyncio.run(IProductionHook(conn_id).aquery("airflow-iprod-no-such-job", retries=0))
    assert "NotExist" in (err.value.code or "") or err.value.status_code == 404, err.value


def test_async_calls_use_the_chain(chain, keyless_conn, local_engine):
    chain.environment_access_key_id = local_engine.access_key_id
    chain.environment_access_key_secret = local_engine.access_key_secret
    _async_query_reaches_engine(keyless_conn)
