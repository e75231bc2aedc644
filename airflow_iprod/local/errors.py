"""Alibaba Cloud OpenAPI (RPC) error answers: codes, HTTP statuses and the JSON body the SDKs parse.

The SDK turns 4xx into ``ClientException`` and 5xx into ``ServerException``, reading ``Code`` and
``Message`` from a body shaped ``{"RequestId", "HostId", "Code", "Message", "Recommend"}``. Statuses follow
the cloud's gateway table (signature and throttling errors are 400 for RPC, an unknown key 404).
"""

from __future__ import annotations

import json
import uuid

from airflow_iprod.local.http import HttpResponse


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameter", message)


def signature_mismatch() -> ApiError:
    return ApiError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")


def incomplete_signature(message: str) -> ApiError:
    return ApiError("IncompleteSignature", message)


def unknown_access_key() -> ApiError:
    return ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)


def timestamp_expired() -> ApiError:
    return ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def timestamp_format() -> ApiError:
    return ApiError("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")


def nonce_used() -> ApiError:
    return ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")


def throttled() -> ApiError:
    return ApiError("Throttling.User", "Request was denied due to user flow control.")


def job_not_found(job_id: str) -> ApiError:
    return ApiError("NotFound", f"JobId={job_id!r} does not exist.", 404)


def error_response(err: ApiError, request_id: str, host_id: str) -> HttpResponse:
    body = {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": err.code,
        "Message": err.message,
        "Recommend": f"Local engine: see the airflow-iprod README (error {err.code}).",
    }
    return json_response(body, err.status, request_id)


def json_response(body: dict, status: int, request_id: str) -> HttpResponse:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json;charset=utf-8", "x-acs-request-id": request_id}
    return HttpResponse(status=status, headers=headers, body=data)
