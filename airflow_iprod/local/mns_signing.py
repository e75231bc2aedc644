"""MNS request signatures: ``Authorization: MNS AccessKeyId:Signature``, checked against the engine's keys.

The signature is base64(HMAC-SHA1(secret, StringToSign)) with StringToSign =
``METHOD\\nContent-MD5\\nContent-Type\\nDate\\n`` + each ``x-mns-*`` header as ``name:value\\n`` (names
lower-case, sorted) + the resource (path and query exactly as sent). The ``Date`` must be within the
engine's timestamp window of now, a body must match its Content-MD5 (the official SDK sends base64 of
the hex digest; base64 of the raw digest is accepted too), and an STS key must bring its
``security-token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from airflow_iprod.local.config import Credential
from airflow_iprod.local.http import HttpRequest
from airflow_iprod.local.mns_wire import MnsError

CredentialLookup = Callable[[str], "Credential | None"]


def string_to_sign(request: HttpRequest) -> str:
    headers = request.headers
    mns_headers = "".join(
        f"{name}:{headers[name]}\n" for name in sorted(k for k in headers if k.startswith("x-mns-"))
    )
    return "\n".join(
        [
            request.method,
            headers.get("content-md5") or "",
            headers.get("content-type") or "",
            headers.get("date") or "",
            mns_headers + request.target,
        ]
    )


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class MnsVerifier:
    def __init__(self, lookup: CredentialLookup, window_s: float) -> None:
        self._lookup = lookup
        self._window_s = window_s

    def verify(self, request: HttpRequest, body: bytes) -> None:
        auth = request.headers.get("authorization") or ""
        if not auth.startswith("MNS ") or ":" not in auth:
            raise MnsError(
                403,
                "AccessDenied",
                "The request carries no MNS signature (Authorization: MNS AccessKeyId:Signature).",
            )
        key_id, _, signature = auth[4:].strip().partition(":")
        credential = self._lookup(key_id)
        if credential is None:
            raise MnsError(403, "InvalidAccessKeyId", f"The access key id {key_id!r} is not known here.")
        self._check_date(request.headers.get("date"))
        expected = sign(credential.access_key_secret, string_to_sign(request))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise MnsError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                f"StringToSign: {string_to_sign(request)!r}",
            )
        if credential.security_token and request.headers.get("security-token") != credential.security_token:
            raise MnsError(403, "AccessDenied", "This access key needs its security-token header.")
        self._check_md5(request.headers.get("content-md5"), body)

    def _check_date(self, value: str | None) -> None:
        if not value:
            raise MnsError(400, "InvalidArgument", "The Date header is required (RFC 1123, GMT).")
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            raise MnsError(
                400, "InvalidArgument", f"The Date header {value!r} is not an RFC 1123 date."
            ) from None
        if abs(time.time() - when) > self._window_s:
            raise MnsError(
                403,
                "TimeExpired",
                f"The Date {value!r} is more than {self._window_s:g} s away from the engine's clock.",
            )

    @staticmethod
    def _check_md5(value: str | None, body: bytes) -> None:
        if not value:
            return
        digest = hashlib.md5(body)
        accepted = {
            base64.b64encode(digest.hexdigest().encode()).decode(),  # what the official SDK sends
            base64.b64encode(digest.digest()).decode(),
        }
        if value not in accepted:
            raise MnsError(400, "InvalidArgument", f"Content-MD5 {value!r} does not match the request body.")
