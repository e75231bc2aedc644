"""Alibaba Cloud OpenAPI (RPC) error answers: codes, HTTP statuses and the JSON body the SDKs parse.

The SDK turns 4xx into ``ClientException`` and 5xx into ``ServerException``, reading ``Code`` and
``Message`` from a body shaped ``{"RequestId", "HostId", "Code", "Message", "Recommend"}``. Statuses follow
the cloud's gateway table (signature and throttling errors are 400 for RPC, an unknown key 404).

Everything below the RPC edge raises plain exceptions; ``api_error_for`` is the one place that says
which code and status each kind of failure answers with.
"""

from __future__ import annotations

import json
import uuid

from airflow_iprod.catalog import MissingField, ValidationError
from airflow_iprod.local.faults import InjectedError
from airflow_iprod.local.http import HttpResponse
from airflow_iprod.local.service_errors import (
    InvalidRequest,
    JobNotFound,
    MediaNotFound,
    NotAvailableLocally,
)

NOT_AVAILABLE_CODE = "NotSupported.LocalEngine"


class ApiError(Exception):
    """A failure already in the wire's terms, raised by the RPC edge (dispatch, throttling, signing)."""

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


def api_error_for(err: Exception) -> ApiError:
    """The code, message and status the cloud answers ``err`` with; an unforeseen error is a 500."""
    if isinstance(err, ApiError):
        return err
    if isinstance(err, MissingField):  # before ValidationError, which it refines
        return missing_parameter(err.field)
    if isinstance(err, ValidationError | InvalidRequest):
        return ApiError("InvalidParameter", str(err))
    if isinstance(err, NotAvailableLocally):
        return ApiError(NOT_AVAILABLE_CODE, str(err))
    if isinstance(err, JobNotFound):
        return ApiError("NotFound", str(err), 404)
    if isinstance(err, MediaNotFound):
        return ApiError("InvalidParameter.ResourceNotFound", str(err), 404)
    if isinstance(err, InjectedError):
        return ApiError(err.code, err.message, err.status)
    return ApiError(
        "InternalError", f"The request processing has failed due to some unknown error: {err}", 500
    )


def error_response(err: Exception, request_id: str, host_id: str) -> HttpResponse:
    api_error = api_error_for(err)
    body = {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": api_error.code,
        "Message": api_error.message,
        "Recommend": f"Local engine: see the airflow-iprod README (error {api_error.code}).",
    }
    return json_response(body, api_error.status, request_id)


def json_response(body: dict, status: int, request_id: str) -> HttpResponse:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json;charset=utf-8", "x-acs-request-id": request_id}
    return HttpResponse(status=status, headers=headers, body=data)
