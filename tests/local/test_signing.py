"""Request signing over real HTTP: both SDK signing styles accepted, every kind of bad request refused
with the cloud's error body and status. Hand-built requests are signed with the SDK's own signer
functions (``alibabacloud_tea_openapi.utils.Utils``), so a stale timestamp or a replayed nonce is the
only thing wrong with them."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_mts20140618 import models as mts_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.utils import Utils

from airflow_iprod.local.config import Credential, FaultConfig

ICE_VERSION = "2020-11-09"
ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend"}


def _query(client: Any, job_id: str = "no-such-job") -> Any:
    return client.query_iproduction_job(ice_models.QueryIProductionJobRequest(job_id=job_id))


def _stamp(offset_s: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _v2_request(
    endpoint: str, key_id: str, secret: str, *, stamp: str, nonce: str
) -> requests.PreparedRequest:
    params = {
        "Action": "QueryIProductionJob", "Format": "json", "Version": ICE_VERSION, "Timestamp": stamp,
        "SignatureNonce": nonce, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
        "AccessKeyId": key_id, "JobId": "no-such-job",
    }  # fmt: skip
    params["Signature"] = Utils.get_rpcsignature(params, "POST", secret)
    return requests.Request("POST", f"http://{endpoint}/?{urlencode(params)}").prepare()


def _acs3_request(
    endpoint: str, key_id: str, secret: str, *, stamp: str, nonce: str
) -> requests.PreparedRequest:
    query = {"JobId": "no-such-job"}
    headers = {
        "host": endpoint, "x-acs-action": "QueryIProductionJob", "x-acs-version": ICE_VERSION,
        "x-acs-date": stamp, "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }  # fmt: skip
    signing = SimpleNamespace(pathname="/", method="POST", query=query, headers=headers)
    headers["Authorization"] = Utils.get_authorization(
        signing, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], key_id, secret
    )
    return requests.Request("POST", f"http://{endpoint}/?{urlencode(query)}", headers=headers).prepare()


def _send(prepared: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.send(prepared, timeout=10)


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["acs3", "rpc-v2"])
def test_both_signing_styles_are_accepted(local_engine: Any, algorithm: str | None) -> None:
    client = local_engine.ice(signature_algorithm=algorithm)
    # The job does not exist: a 404 NotFound proves the signature was accepted and the action ran.
    with pytest.raises(ClientException) as info:
        _query(client)
    assert (info.value.status_code, info.value.code) == (404, "NotFound")
    assert "no-such-job" in info.value.message


BAD_CREDENTIALS = [
    pytest.param({"access_key_secret": "not-the-secret"}, (400, "SignatureDoesNotMatch"), id="wrong-secret"),
    pytest.param(
        {"access_key_id": "LTAInobodyhasthis"}, (404, "InvalidAccessKeyId.NotFound"), id="unknown-key"
    ),
]


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["acs3", "rpc-v2"])
@pytest.mark.parametrize(("credential", "refusal"), BAD_CREDENTIALS)
def test_bad_credentials_are_refused(
    local_engine: Any, algorithm: str | None, credential: dict[str, str], refusal: tuple[int, str]
) -> None:
    client = local_engine.ice(signature_algorithm=algorithm, **credential)
    with pytest.raises(ClientException) as info:
        _query(client)
    assert (info.value.status_code, info.value.code) == refusal
    assert set(info.value.data) >= ERROR_KEYS


def test_mts_client_signs_too(local_engine: Any) -> None:
    for algorithm in (None, "v2"):
        client = local_engine.mts(signature_algorithm=algorithm)
        with pytest.raises(ClientException) as info:
            client.query_iproduction_job(mts_models.QueryIProductionJobRequest(job_id="no-such-job"))
        assert info.value.code == "NotFound"
        bad = local_engine.mts(signature_algorithm=algorithm, access_key_secret="wrong")
        with pytest.raises(ClientException) as info:
            bad.query_iproduction_job(mts_models.QueryIProductionJobRequest(job_id="no-such-job"))
        assert info.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("build", [_v2_request, _acs3_request], ids=["rpc-v2", "acs3"])
def test_stale_and_future_timestamps_are_refused(local_engine: Any, build: Any) -> None:
    for offset in (-16 * 60, 16 * 60):
        prepared = build(local_engine.endpoint, local_engine.access_key_id, local_engine.access_key_secret,
                         stamp=_stamp(offset), nonce=uuid.uuid4().hex)  # fmt: skip
        answer = _send(prepared)
        assert answer.status_code == 400
        body = answer.json()
        assert body["Code"] == "InvalidTimeStamp.Expired"
        assert set(body) >= ERROR_KEYS
    # Within the window (a few minutes of clock skew) is fine: the job lookup answers.
    fresh = build(local_engine.endpoint, local_engine.access_key_id, local_engine.access_key_secret,
                  stamp=_stamp(-120), nonce=uuid.uuid4().hex)  # fmt: skip
    assert _send(fresh).json()["Code"] == "NotFound"


@pytest.mark.parametrize("build", [_v2_request, _acs3_request], ids=["rpc-v2", "acs3"])
def test_replayed_nonce_is_refused(local_engine: Any, build: Any) -> None:
    prepared = build(local_engine.endpoint, local_engine.access_key_id, local_engine.access_key_secret,
                     stamp=_stamp(), nonce=uuid.uuid4().hex)  # fmt: skip
    first = _send(prepared)
    assert first.status_code == 404 and first.json()["Code"] == "NotFound"
    again = _send(prepared)
    assert again.status_code == 400
    assert again.json()["Code"] == "SignatureNonceUsed"


def test_tampered_parameter_breaks_the_signature(local_engine: Any) -> None:
    prepared = _v2_request(local_engine.endpoint, local_engine.access_key_id, local_engine.access_key_secret,
                           stamp=_stamp(), nonce=uuid.uuid4().hex)  # fmt: skip
    prepared.url = prepared.url.replace("JobId=no-such-job", "JobId=another-job")
    answer = _send(prepared)
    assert (answer.status_code, answer.json()["Code"]) == (400, "SignatureDoesNotMatch")


def test_unsigned_request_is_refused(local_engine: Any) -> None:
    url = f"http://{local_engine.endpoint}/?Action=QueryIProductionJob&Version={ICE_VERSION}&JobId=x"
    answer = _send(requests.Request("POST", url).prepare())
    assert answer.status_code == 400
    assert answer.json()["Code"] == "IncompleteSignature"


def test_unknown_action_and_version(local_engine: Any) -> None:
    url = f"http://{local_engine.endpoint}/?Action=DescribeNothing&Version={ICE_VERSION}"
    answer = _send(requests.Request("POST", url).prepare())
    assert (answer.status_code, answer.json()["Code"]) == (404, "InvalidAction.NotFound")
    url = f"http://{local_engine.endpoint}/?Action=QueryIProductionJob&Version=1999-01-01"
    answer = _send(requests.Request("POST", url).prepare())
    assert (answer.status_code, answer.json()["Code"]) == (400, "InvalidVersion")


def test_sts_security_token(make_engine: Any) -> None:
    handle = make_engine()
    handle.config.add_credential(Credential("STS.tempkey", "temp-secret", security_token="token-123"))
    for algorithm in (None, "v2"):
        good = handle.ice(access_key_id="STS.tempkey", access_key_secret="temp-secret",
                          security_token="token-123", signature_algorithm=algorithm)  # fmt: skip
        with pytest.raises(ClientException) as info:
            _query(good)
        assert info.value.code == "NotFound"
        bad = handle.ice(access_key_id="STS.tempkey", access_key_secret="temp-secret",
                         security_token="token-999", signature_algorithm=algorithm)  # fmt: skip
        with pytest.raises(ClientException) as info:
            _query(bad)
        assert info.value.code == "InvalidSecurityToken.MismatchWithAccessKey"
        missing = handle.ice(access_key_id="STS.tempkey", access_key_secret="temp-secret",
                             signature_algorithm=algorithm)  # fmt: skip
        with pytest.raises(ClientException) as info:
            _query(missing)
        assert info.value.code.startswith("InvalidSecurityToken")


def test_throttling_answers_the_cloud_error(make_engine: Any) -> None:
    handle = make_engine(throttle_rates={"QueryIProductionJob": 3.0})
    client = handle.ice()
    codes = []
    for _ in range(12):
        try:
            _query(client)
        except ClientException as err:
            codes.append((err.status_code, err.code))
    assert (400, "Throttling.User") in codes
    assert (404, "NotFound") in codes  # the first few (the burst) went through
    time.sleep(1.1)  # the bucket refills
    with pytest.raises(ClientException) as info:
        _query(client)
    assert info.value.code == "NotFound"


def test_fault_injection_query_errors_and_latency(make_engine: Any) -> None:
    handle = make_engine(faults=FaultConfig(query_error_rate=1.0, latency_ms=150))
    client = handle.ice()
    start = time.monotonic()
    with pytest.raises(ServerException) as info:
        _query(client)
    assert time.monotonic() - start >= 0.15
    assert (info.value.status_code, info.value.code) == (503, "ServiceUnavailable")
