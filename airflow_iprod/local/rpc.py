"""The RPC edge: ICE (2020-11-09) and MPS (2014-06-18) IProduction actions plus ICE media assets.

A request names its action and version in ``x-acs-action`` / ``x-acs-version`` headers (ACS3 signing) or
``Action`` / ``Version`` parameters (RPC v2). The edge throttles, checks the signature, picks the codec
handler for (version, action) and answers JSON. Whatever fails below it, as an exception, becomes the
cloud's error body here and nowhere else.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from airflow_iprod.local import ice_codec, mps_codec, rpc_errors
from airflow_iprod.local.faults import Faults
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.job_actions import Handler
from airflow_iprod.local.rpc_errors import ApiError
from airflow_iprod.local.rpc_signing import SignatureVerifier
from airflow_iprod.local.service import JobService
from airflow_iprod.local.stats import EngineStats
from airflow_iprod.local.throttle import Throttle

VERSIONS = {ice_codec.VERSION: "ICE", mps_codec.VERSION: "MPS"}
DISPATCH: dict[tuple[str, str], Handler] = {
    **{(ice_codec.VERSION, action): handler for action, handler in ice_codec.HANDLERS.items()},
    **{(mps_codec.VERSION, action): handler for action, handler in mps_codec.HANDLERS.items()},
}


def is_rpc(request: HttpRequest) -> bool:
    if request.headers.get("x-acs-action"):
        return True
    return any(k == "Action" for k, _ in request.query)


def request_params(request: HttpRequest) -> dict[str, str]:
    """Parameters from the query string (the SDKs put them all there) and a form body if one is sent."""
    params = dict(request.query)
    ctype = (request.headers.get("content-type") or "").lower()
    if request.body and ctype.startswith("application/x-www-form-urlencoded"):
        for key, value in parse_qsl(request.body.decode("utf-8"), keep_blank_values=True):
            params.setdefault(key, value)
    return params


def handler_for(version: str, action: str) -> Handler:
    if not action:
        raise rpc_errors.missing_parameter("Action")
    if version not in VERSIONS:
        served = " and ".join(f"{v} ({name})" for v, name in VERSIONS.items())
        raise ApiError(
            "InvalidVersion",
            f"Specified parameter Version={version!r} is not valid; this engine serves {served}.",
        )
    handler = DISPATCH.get((version, action))
    if handler is None:
        served_actions = sorted(a for v, a in DISPATCH if v == version)
        raise ApiError(
            "InvalidAction.NotFound",
            f"Specified api {action!r} is not found for version "
            f"{version}; the local engine serves {served_actions}.",
            404,
        )
    return handler


class RpcEdge:
    def __init__(
        self,
        service: JobService,
        throttle: Throttle,
        verifier: SignatureVerifier,
        faults: Faults,
        stats: EngineStats | None = None,
    ) -> None:
        self.service = service
        self.throttle = throttle
        self.verifier = verifier
        self.faults = faults
        self.stats = stats or EngineStats()

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = rpc_errors.new_request_id()
        try:
            if request.problem is not None:
                raise ApiError(request.problem.rpc_code, request.problem.message, request.problem.status)
            params = request_params(request)
            action = request.headers.get("x-acs-action") or params.get("Action") or ""
            version = request.headers.get("x-acs-version") or params.get("Version") or ""
            self.stats.rpc_call(action)
            handler = handler_for(version, action)
            if not self.throttle.allow(action):
                raise rpc_errors.throttled()
            self.verifier.verify(request, params)
            self.faults.delay()
            body = handler(self.service, params)
        except Exception as err:  # every refusal, and any bug, answers in the cloud's shape
            return rpc_errors.error_response(err, request_id, request.host or "127.0.0.1")
        return rpc_errors.json_response({"RequestId": request_id, **body}, 200, request_id)
