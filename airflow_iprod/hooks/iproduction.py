"""IProductionHook: credentials, SDK clients and the retry policy for the ICE and MPS IProduction APIs.

The SDKs are imported inside methods only: this module is imported when DAG files are parsed.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.alibaba.cloud.hooks.base_alibaba import AlibabaBaseHook
from airflow.providers.common.compat.sdk import BaseHook

from airflow_iprod import catalog
from airflow_iprod.catalog import SubmitRequest
from airflow_iprod.client_settings import ClientSettings
from airflow_iprod.errors import IProductionError
from airflow_iprod.hooks import connection_form
from airflow_iprod.job_state import JobState

if TYPE_CHECKING:
    from airflow.models import Connection
    from tenacity import RetryCallState


DEFAULT_REGION = "cn-shanghai"
API_VERSIONS = {catalog.ICE: "2020-11-09", catalog.MTS: "2014-06-18"}

# Service error codes that mean "try again later". Throttling* is matched by prefix.
_TRANSIENT_CODES = frozenset(
    {"ServiceUnavailable", "InternalError", "InternalFailure", "ServiceTimeout", "RequestTimeout"}
)
# Of those, the ones where the service certainly did not act on the request (safe to resend a Submit).
_REJECTED_CODES = frozenset({"ServiceUnavailable"})
# Error codes of a Query for a missing job that are about the connection, not the job (test_connection).
_NOT_ABOUT_THE_JOB = (
    "InvalidAccessKeyId",
    "InvalidSecurityToken",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAction",
    "InvalidVersion",
    "InvalidRegionId",
    "Forbidden",
)
# Exceptions raised before the request reached the server (safe to resend anything).
_NOT_SENT = frozenset(
    {
        "ConnectionRefusedError",
        "ClientConnectorError",
        "ConnectTimeout",
        "ConnectTimeoutError",
        "NewConnectionError",
        "NameResolutionError",
        "gaierror",
        "ServerTimeoutError",  # aiohttp raises it for connect timeouts too; see _classify_transport
    }
)
# TLS verification failed: a configuration problem, not a transient one.
_UNTRUSTED = frozenset({"SSLCertVerificationError", "ClientConnectorCertificateError"})
# Exceptions where the request may have been processed before the connection failed.
_MAYBE_SENT = frozenset(
    {
        "ReadTimeout",
        "ReadTimeoutError",
        "TimeoutError",
        "ServerDisconnectedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "RemoteDisconnected",
        "ProtocolError",
        "ChunkedEncodingError",
        "ClientOSError",
        "ClientPayloadError",
        "ConnectionError",
        "IncompleteRead",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long the hook (and the trigger) waits before resending a transient failure."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 20.0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Capped exponential backoff with full jitter; a server-given Retry-After is a floor."""
        delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
        if retry_after:
            delay = max(delay, min(float(retry_after), self.backoff_cap))
        return delay


# One SDK client per (connection settings, api) per process: building one parses endpoint maps and
# credentials, and the async calls open their own HTTP session per call anyway.
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


class IProductionHook(AlibabaBaseHook):
    """Submit, query and cancel IProduction jobs on ICE (``api="ice"``) or MPS (``api="mts"``).

    Connection: type ``iprod``, whose form (:mod:`airflow_iprod.hooks.connection_form`, the one list of
    its extras) has access key id and secret, STS token, region, endpoint (``host[:port]`` or a URL),
    protocol, OSS and MNS endpoints and a CA bundle. ``alibaba_cloud`` connections with the same extras
    (or the keys as login/password) work too. Without keys the Alibaba Cloud default credential chain
    is used (environment variables, OIDC/RRSA, credentials file, ECS RAM role ...: see
    :mod:`airflow_iprod.credentials`), as for OSS.

    Transient failures (``Throttling*``, ``ServiceUnavailable``, ``InternalError``, 5xx, connection
    problems, timeouts) are retried with capped exponential backoff and full jitter. A Submit is only
    resent when the service certainly did not act on it (throttled, unavailable, connection never
    made): resending after an ambiguous failure could start a second, paid job. Everything else raises
    :class:`~airflow_iprod.errors.IProductionError` with the service's code, message and RequestId.
    """

    conn_name_attr = "alibabacloud_conn_id"
    default_conn_name = "alibabacloud_default"
    conn_type = connection_form.CONN_TYPE  # "iprod": Airflow's conn types have no "_" (URI schemes)
    hook_name = "Alibaba Cloud IProduction"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's fields for Airflow 3.0/3.1 (3.2+ reads them from the provider info)."""
        return connection_form.connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return connection_form.ui_field_behaviour()

    def __init__(
        self,
        alibabacloud_conn_id: str = default_conn_name,
        api: str = catalog.ICE,
        *,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        read_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        # AlibabaBaseHook.__init__ reads the connection right away; we load it lazily instead, so a
        # hook can be built on the triggerer's event loop and fetch its connection asynchronously.
        BaseHook.__init__(self, **kwargs)
        api = catalog.canonical_api(api)
        self.alibaba_cloud_conn_id = alibabacloud_conn_id
        self.api = api
        self.retry = RetryPolicy(max_retries, backoff_base, backoff_cap)
        self.timeouts_ms = (int(read_timeout * 1000), int(connect_timeout * 1000))  # read, connect
        self._conn_extras: dict[str, Any] | None = None
        self._conn_login: str | None = None
        self._conn_password: str | None = None

    # ------------------------------------------------------------------ connection / client

    @property
    def extras(self) -> dict[str, Any]:  # type: ignore[override]
        if self._conn_extras is None:
            self._use_connection(self.get_connection(self.alibaba_cloud_conn_id))
        return self._conn_extras or {}

    @extras.setter
    def extras(self, value: dict[str, Any]) -> None:
        self._conn_extras = dict(value)

    def _use_connection(self, conn: Connection) -> None:
        self._conn_extras = connection_form.read_extras(conn.extra_dejson)
        self._conn_login = conn.login
        self._conn_password = conn.password

    async def _aensure_connection(self) -> None:
        if self._conn_extras is None:
            self._use_connection(await self.aget_connection(self.alibaba_cloud_conn_id))

    @property
    def region(self) -> str:
        return str(self._get_field("region") or os.environ.get("ALIBABA_CLOUD_REGION_ID") or DEFAULT_REGION)

    def settings(self) -> ClientSettings:
        extras = self.extras
        region = self.region
        endpoint = extras.get("endpoint") or f"{self.api}.{region}.aliyuncs.com"
        if "://" in endpoint:  # accept a URL: the SDK wants host[:port] and a separate protocol
            scheme, endpoint = endpoint.split("://", 1)
            protocol = extras.get("protocol") or scheme
        else:
            protocol = extras.get("protocol") or "https"
        protocol = str(protocol).lower()
        if protocol not in ("http", "https"):
            raise catalog.ValidationError("protocol", protocol, "http or https")
        return ClientSettings(
            api=self.api,
            endpoint=endpoint.rstrip("/"),
            region=region,
            protocol=protocol,
            access_key_id=extras.get("access_key_id") or self._conn_login or None,
            access_key_secret=extras.get("access_key_secret") or self._conn_password or None,
            security_token=extras.get("security_token") or None,
            read_timeout_ms=self.timeouts_ms[0],
            connect_timeout_ms=self.timeouts_ms[1],
            ca_bundle=extras.get("ca_bundle") or None,
            mns_endpoint=extras.get("mns_endpoint") or None,
        )

    async def asettings(self) -> ClientSettings:
        """``settings()`` with the connection fetched without blocking the event loop."""
        await self._aensure_connection()
        return self.settings()

    def get_conn(self) -> Any:
        """The SDK client for this hook's API (cached per process)."""
        settings = self.settings()
        key = settings.cache_key()
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                client = _CLIENTS[key] = _build_client(settings)
        return client

    async def aget_conn(self) -> Any:
        await self._aensure_connection()
        return self.get_conn()

    def oss_client(self) -> Any:
        """An ``alibabacloud_oss_v2`` client with this connection's credentials and region."""
        from airflow_iprod.oss_client import build_oss_client

        return build_oss_client(self.settings(), self.extras.get("oss_endpoint"))

    def test_connection(self) -> tuple[bool, str]:
        """Query a job id that cannot exist (the Test button, ``airflow connections test``): "no such
        job" means endpoint, keys and API all answered; an auth failure, a wrong API (an MPS endpoint
        for ICE) or a network error means a bad connection. No retries: the person is waiting."""
        try:
            self.query("airflow-iprod-connection-test", retries=0)
        except IProductionError as err:
            code = err.code or ""
            # "InvalidAccessKeyId.NotFound" and "InvalidAction.NotFound" are 404s too, not about the job
            about_the_job = "NotExist" in code or "NotFound" in code or err.status_code == 404
            if code and about_the_job and not code.startswith(_NOT_ABOUT_THE_JOB):
                return True, f"Connected to {self.settings().endpoint} ({self.api})"
            return False, str(err)
        return True, f"Connected to {self.settings().endpoint} ({self.api})"

    # ------------------------------------------------------------------ requests

    def request(self, function_name: str, **fields: Any) -> SubmitRequest:
        """A validated request for this hook's API from submit keywords (no network)."""
        return SubmitRequest(api=self.api, function_name=function_name, **fields)

    def _wire(self, request: SubmitRequest | str, fields: dict[str, Any]) -> dict[str, Any]:
        if isinstance(request, str):
            request = self.request(request, **fields)
        elif fields:
            raise TypeError("pass submit fields either in the SubmitRequest or as keywords, not both")
        if request.api != self.api:
            raise catalog.ValidationError("api", request.api, f"{self.api!r}, this hook's API")
        return request.to_wire()

    def submit(self, request: SubmitRequest | str, **fields: Any) -> str:
        """Send a SubmitRequest (or a FunctionName and submit keywords); return the JobId.
        Raises ValidationError before any network call."""
        wire = self._wire(request, fields)
        body = self._call("SubmitIProductionJob", lambda c, m: c.submit_iproduction_job(m), wire, False)
        return _job_id(body)

    async def asubmit(self, request: SubmitRequest | str, **fields: Any) -> str:
        wire = self._wire(request, fields)
        await self._aensure_connection()
        body = await self._acall(
            "SubmitIProductionJob", lambda c, m: c.submit_iproduction_job_async(m), wire, False
        )
        return _job_id(body)

    def query(self, job_id: str, *, retries: int | None = None) -> JobState:
        body = self._call(
            "QueryIProductionJob",
            lambda c, m: c.query_iproduction_job(m),
            {"JobId": job_id},
            True,
            retries=retries,
        )
        return JobState.from_response(self.api, job_id, body)

    async def aquery(self, job_id: str, *, retries: int | None = None) -> JobState:
        await self._aensure_connection()
        body = await self._acall(
            "QueryIProductionJob",
            lambda c, m: c.query_iproduction_job_async(m),
            {"JobId": job_id},
            True,
            retries=retries,
        )
        return JobState.from_response(self.api, job_id, body)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None,
        interval: float,
        on_status: Callable[[JobState], None] | None = None,
        on_transient: Callable[[IProductionError], None] | None = None,
    ) -> tuple[JobState | None, bool]:
        """Query every ``interval`` s until the job ends or ``timeout`` passes, in this thread (the
        triggerer's async wait is the trigger's): (last state seen, finished?).

        Transient trouble that outlasts the per-call retries does not end the wait (``on_transient``
        hears of it); anything else raises. ``on_status`` sees every state that is not final yet.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        state: JobState | None = None
        while True:
            try:
                state = self.query(job_id)
            except IProductionError as err:
                if not err.retriable:
                    raise
                if on_transient:
                    on_transient(err)
            else:
                if state.is_terminal:
                    return state, True
                if on_status:
                    on_status(state)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return state, False
            time.sleep(interval if left is None else min(interval, left))

    def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job (ICE only: MPS has no CancelIProductionJob)."""
        self._require_cancel(job_id)
        self._call("CancelIProductionJob", lambda c, m: c.cancel_iproduction_job(m), {"JobId": job_id}, True)

    async def acancel(self, job_id: str) -> None:
        self._require_cancel(job_id)
        await self._aensure_connection()
        await self._acall(
            "CancelIProductionJob", lambda c, m: c.cancel_iproduction_job_async(m), {"JobId": job_id}, True
        )

    def resolve_outputs(self, state: JobState, *, submitted_at: float | None = None) -> JobState:
        """Fill ``state.listed_outputs`` for a finished MPS job (its Query answer lists no files).

        Once per job, on completion: a template without placeholders is the output itself; otherwise
        one bounded listing of the template's fixed prefix through the object API with this
        connection's credentials (see :mod:`airflow_iprod.mps_outputs`). ``submitted_at`` (epoch
        seconds, when known) bounds ``{timestamp}`` and leaves out objects older than the job.
        ICE jobs and unfinished or failed jobs are returned unchanged.
        """
        if self.api != catalog.MTS or not state.is_success or not state.output:
            return state
        if state.listed_outputs is not None:
            return state
        from airflow_iprod.mps_outputs import find_outputs

        state.listed_outputs = find_outputs(
            state.output,
            state.input,
            self.oss_client,
            not_before=submitted_at,
            not_after=time.time(),
            warn=self.log.warning,
        )
        if not state.listed_outputs:
            self.log.warning(
                "MPS job %s succeeded but no object under %s matches its output template",
                state.job_id,
                state.output,
            )
        return state

    @property
    def can_cancel(self) -> bool:
        return self.api == catalog.ICE

    def _require_cancel(self, job_id: str) -> None:
        if not self.can_cancel:
            raise IProductionError(
                "the MPS API has no CancelIProductionJob; the job keeps running", job_id=job_id
            )

    # ------------------------------------------------------------------ retry machinery

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        return self.retry.backoff(attempt, retry_after)

    def _retry_policy(self, action: str, idempotent: bool, retries: int | None) -> dict[str, Any]:
        """tenacity settings shared by the sync and async call paths: which failures to retry (only
        transient ones, and a Submit only when it certainly did not run), how long to wait, how often."""
        from tenacity import stop_after_attempt

        def should_retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if exc is None:
                return False
            err, resend_ok = classify(exc, idempotent)
            return err.retriable and resend_ok

        def wait(state: RetryCallState) -> float:
            err, _ = classify(state.outcome.exception(), idempotent)  # type: ignore[union-attr, arg-type]
            return self.backoff(state.attempt_number - 1, err.retry_after)

        def log_retry(state: RetryCallState) -> None:
            err, _ = classify(state.outcome.exception(), idempotent)  # type: ignore[union-attr, arg-type]
            delay = state.next_action.sleep if state.next_action else 0.0
            self.log.warning("%s: %s; retrying in %.1f s", action, err, delay)

        limit = self.retry.max_retries if retries is None else retries
        return {
            "retry": should_retry,
            "wait": wait,
            "stop": stop_after_attempt(limit + 1),
            "before_sleep": log_retry,
            "reraise": True,
        }

    def _call(
        self,
        action: str,
        method: Callable[[Any, Any], Any],
        request: dict[str, Any],
        idempotent: bool,
        *,
        retries: int | None = None,
    ) -> dict[str, Any]:
        from tenacity import Retrying

        client = self.get_conn()
        model = _request_model(self.api, action, request)
        try:
            for attempt in Retrying(**self._retry_policy(action, idempotent, retries)):
                with attempt:
                    return method(client, model).body.to_map()
        except Exception as exc:
            raise classify(exc, idempotent)[0] from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _acall(
        self,
        action: str,
        method: Callable[[Any, Any], Awaitable[Any]],
        request: dict[str, Any],
        idempotent: bool,
        *,
        retries: int | None = None,
    ) -> dict[str, Any]:
        from tenacity import AsyncRetrying

        client = self.get_conn()
        model = _request_model(self.api, action, request)
        try:
            async for attempt in AsyncRetrying(**self._retry_policy(action, idempotent, retries)):
                with attempt:
                    return (await method(client, model)).body.to_map()
        except Exception as exc:
            raise classify(exc, idempotent)[0] from exc
        raise AssertionError("unreachable: tenacity either returns or raises")


# ---------------------------------------------------------------------- helpers


def _build_client(settings: ClientSettings) -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    config = Config(
        region_id=settings.region,
        endpoint=settings.endpoint,
        protocol=settings.protocol,
        read_timeout=settings.read_timeout_ms,
        connect_timeout=settings.connect_timeout_ms,
        ca=settings.ca_bundle,  # the local engine's CA over HTTPS; verification stays on
    )
    if settings.access_key_id and settings.access_key_secret:
        config.access_key_id = settings.access_key_id
        config.access_key_secret = settings.access_key_secret
        config.security_token = settings.security_token
    else:  # environment, OIDC, credentials file, ECS RAM role ...: see airflow_iprod.credentials
        from airflow_iprod.credentials import default_chain

        config.credential = default_chain()
    if settings.api == catalog.ICE:
        from alibabacloud_ice20201109.client import Client
    else:
        from alibabacloud_mts20140618.client import Client
    return Client(config)


def _request_model(api: str, action: str, request: dict[str, Any]) -> Any:
    if api == catalog.ICE:
        from alibabacloud_ice20201109 import models
    else:
        from alibabacloud_mts20140618 import models
    cls = getattr(models, f"{action}Request")
    return cls().from_map(request)


def classify(exc: BaseException, idempotent: bool) -> tuple[IProductionError, bool]:
    """Map an SDK exception to an IProductionError; also say whether resending the call is safe."""
    if isinstance(exc, IProductionError):
        return exc, idempotent
    from darabonba.exceptions import ResponseException, UnretryableException

    if isinstance(exc, ResponseException):
        data = exc.data if isinstance(exc.data, dict) else {}
        code = str(exc.code or data.get("Code") or "")
        status = getattr(exc, "status_code", None) or data.get("statusCode")
        message = str(data.get("Message") or exc.message or exc)
        request_id = data.get("RequestId") or getattr(exc, "request_id", None)
        throttled = (
            code.startswith("Throttling") or status == 429 or type(exc).__name__ == "ThrottlingException"
        )
        transient = throttled or code in _TRANSIENT_CODES or (status is not None and int(status) >= 500)
        rejected = throttled or code in _REJECTED_CODES or status == 503
        retry_after = getattr(exc, "retry_after", None)
        err = IProductionError(
            message,
            code=code or None,
            request_id=request_id,
            status_code=int(status) if status else None,
            retriable=transient,
            retry_after=float(retry_after) / 1000 if retry_after else None,  # SDK gives milliseconds
        )
        return err, transient and (idempotent or rejected)
    inner: BaseException = exc.inner_exception if isinstance(exc, UnretryableException) else exc
    kind = _classify_transport(inner)
    if kind is None:
        return IProductionError(f"{type(inner).__name__}: {inner}", code=type(inner).__name__), False
    code = "ConnectionFailed" if kind == "not_sent" else "ConnectionInterrupted"
    err = IProductionError(f"{type(inner).__name__}: {inner}", code=code, retriable=True)
    return err, idempotent or kind == "not_sent"


def _classify_transport(exc: BaseException) -> str | None:
    """``"not_sent"``, ``"maybe_sent"`` or None (not a transport problem)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__])
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        for attr in ("reason", "os_error", "inner_exception"):
            value = getattr(item, attr, None)
            if isinstance(value, BaseException):
                todo.append(value)
    names = {type(s).__name__ for s in seen}
    text = " ".join(str(s) for s in seen)
    if names & _UNTRUSTED or "CERTIFICATE_VERIFY_FAILED" in text:
        return None  # the server's certificate is not trusted: resending cannot help (see ca_bundle)
    if "ServerTimeoutError" in names and "onnect" not in text:
        names.discard("ServerTimeoutError")  # an aiohttp *read* timeout: the request may have run
        names.add("TimeoutError")
    if names & _NOT_SENT or "Connection refused" in text or "Errno 111" in text:
        return "not_sent"
    if names & _MAYBE_SENT or any(isinstance(s, (OSError, asyncio.TimeoutError)) for s in seen):
        return "maybe_sent"
    return None


def _job_id(body: dict[str, Any]) -> str:
    job_id = body.get("JobId")
    if not job_id:
        raise IProductionError(
            f"SubmitIProductionJob answered without a JobId: {body}", request_id=body.get("RequestId")
        )
    return str(job_id)
