"""Verify the two request-signing styles the Alibaba Cloud SDKs use for RPC APIs.

* ACS3-HMAC-SHA256 (SDK default): ``Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=a;b,
  Signature=<hex>`` over a canonical request (method, path, sorted percent-encoded query, the signed
  headers, the hex SHA-256 of the body), with ``x-acs-date`` and ``x-acs-signature-nonce`` headers.
* RPC v2 (``Config(signature_algorithm="v2")``): ``Signature`` is base64 HMAC-SHA1, keyed with
  ``secret + "&"``, over ``METHOD&%2F&`` + the percent-encoded sorted parameter string; ``Timestamp`` and
  ``SignatureNonce`` travel as parameters.

Both also carry an optional STS token (``x-acs-security-token`` / ``SecurityToken``) that must match the
credential's. Timestamps outside the window and nonces seen before are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from calendar import timegm
from collections.abc import Callable, Mapping
from urllib.parse import quote

from airflow_iprod.local import rpc_errors
from airflow_iprod.local.config import Credential
from airflow_iprod.local.http import HttpRequest
from airflow_iprod.local.rpc_errors import ApiError

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
# Headers an ACS3 signature must cover, or a replayed body/action could be swapped under it.
ACS3_REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
)


def percent_encode(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


class NonceCache:
    """Nonces seen within the TTL, per access key (memory only: a restart forgets them)."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl = ttl_s
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def use(self, access_key_id: str, nonce: str, now: float | None = None) -> bool:
        """Record the nonce; False when it was already used."""
        now = time.time() if now is None else now
        key = (access_key_id, nonce)
        with self._lock:
            if now >= self._next_purge:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
                self._next_purge = now + 30
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                return False
            self._seen[key] = now + self._ttl
            return True


def parse_timestamp(value: str) -> float:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) -> epoch seconds."""
    try:
        return float(timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        raise rpc_errors.timestamp_format() from None


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={percent_encode(params[key])}" for key in sorted(params))


def acs3_signature(
    secret: str,
    method: str,
    path: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    signed: list[str],
    payload_hash: str,
) -> str:
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip()}\n" for name in signed)
    canonical = "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(params),
            canonical_headers,
            ";".join(signed),
            payload_hash,
        ]
    )
    to_sign = f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def rpc_v2_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    pairs = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    to_sign = f"{method.upper()}&{percent_encode('/')}&{percent_encode(pairs)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = value.partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise rpc_errors.incomplete_signature(
            f"Authorization algorithm {algorithm!r} is not supported; "
            f"use {ACS3_ALGORITHM} or RPC v2 (HMAC-SHA1)."
        )
    fields = {}
    for part in rest.split(","):
        name, _, val = part.strip().partition("=")
        fields[name] = val
    if not fields.get("Credential") or not fields.get("Signature") or "SignedHeaders" not in fields:
        raise rpc_errors.incomplete_signature(
            "Authorization must carry Credential, SignedHeaders and Signature."
        )
    signed = [h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip()]
    return fields["Credential"], signed, fields["Signature"]


class SignatureVerifier:
    def __init__(
        self, lookup: Callable[[str], Credential | None], window_s: float, nonce_ttl_s: float
    ) -> None:
        self._lookup = lookup
        self._window = window_s
        self.nonces = NonceCache(max(nonce_ttl_s, window_s))

    def verify(
        self, request: HttpRequest, params: Mapping[str, str], *, now: float | None = None
    ) -> Credential:
        """Check the request's signature; return the credential it was signed with or raise ApiError."""
        auth = request.headers.get("authorization")
        if auth:
            return self._verify_acs3(request, auth, now)
        if "Signature" in params:
            return self._verify_v2(request, params, now)
        raise rpc_errors.incomplete_signature(
            "The request is not signed: expected an ACS3-HMAC-SHA256 Authorization header "
            "or an RPC Signature."
        )

    def _credential(self, access_key_id: str, token: str | None) -> Credential:
        cred = self._lookup(access_key_id)
        if cred is None:
            raise rpc_errors.unknown_access_key()
        if cred.security_token is not None:
            if not token:
                raise ApiError(
                    "InvalidSecurityToken.Missing", "Specified SecurityToken is missing for an STS key."
                )
            if not hmac.compare_digest(token, cred.security_token):
                raise ApiError(
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                )
        elif token:
            raise ApiError(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            )
        return cred

    def _check_time_and_nonce(
        self, access_key_id: str, stamp: str | None, nonce: str | None, now: float | None
    ) -> None:
        if not stamp:
            raise rpc_errors.missing_parameter("Timestamp")
        if not nonce:
            raise rpc_errors.missing_parameter("SignatureNonce")
        current = time.time() if now is None else now
        if abs(current - parse_timestamp(stamp)) > self._window:
            raise rpc_errors.timestamp_expired()
        if not self.nonces.use(access_key_id, nonce, current):
            raise rpc_errors.nonce_used()

    def _verify_acs3(self, request: HttpRequest, auth: str, now: float | None) -> Credential:
        access_key_id, signed, signature = _parse_authorization(auth)
        missing = [h for h in ACS3_REQUIRED_SIGNED if h not in signed]
        if missing:
            raise rpc_errors.incomplete_signature(f"SignedHeaders must include {', '.join(missing)}.")
        payload_hash = request.headers.get("x-acs-content-sha256") or ""
        if not hmac.compare_digest(payload_hash, hashlib.sha256(request.body).hexdigest()):
            raise ApiError("InvalidContentSha256", "x-acs-content-sha256 does not match the request body.")
        cred = self._credential(access_key_id, request.headers.get("x-acs-security-token"))
        # ACS3 signs the query string only; a form body is covered by the payload hash.
        expected = acs3_signature(
            cred.access_key_secret,
            request.method,
            request.path,
            dict(request.query),
            request.headers,
            signed,
            payload_hash,
        )
        if not hmac.compare_digest(expected, signature):
            raise rpc_errors.signature_mismatch()
        # Time and nonce only after the signature: an attacker must not burn a client's nonce.
        self._check_time_and_nonce(
            access_key_id,
            request.headers.get("x-acs-date"),
            request.headers.get("x-acs-signature-nonce"),
            now,
        )
        return cred

    def _verify_v2(self, request: HttpRequest, params: Mapping[str, str], now: float | None) -> Credential:
        for name in ("AccessKeyId", "SignatureMethod"):
            if not params.get(name):
                raise rpc_errors.missing_parameter(name)
        if params["SignatureMethod"] != "HMAC-SHA1":
            raise rpc_errors.incomplete_signature(
                f"SignatureMethod={params['SignatureMethod']!r} is not supported; allowed: HMAC-SHA1."
            )
        if params.get("SignatureVersion", "1.0") != "1.0":
            raise rpc_errors.incomplete_signature(
                f"SignatureVersion={params['SignatureVersion']!r} is not supported; allowed: 1.0."
            )
        access_key_id = params["AccessKeyId"]
        cred = self._credential(access_key_id, params.get("SecurityToken"))
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        expected = rpc_v2_signature(cred.access_key_secret, request.method, unsigned)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise rpc_errors.signature_mismatch()
        self._check_time_and_nonce(access_key_id, params.get("Timestamp"), params.get("SignatureNonce"), now)
        return cred
