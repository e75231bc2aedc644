"""Verification of OSS request signatures, as the official clients compute them.

* V4 ``OSS4-HMAC-SHA256`` (default of ``alibabacloud_oss_v2``, which providers-alibaba's OSSHook uses):
  in the ``Authorization`` header, or in the query string of a presigned URL (``x-oss-signature-version``).
* V1 ``OSS AccessKeyId:Signature`` (HMAC-SHA1; ``oss2`` and ``Config(signature_version="v1")``): in the
  header, or presigned (``OSSAccessKeyId``, ``Expires``, ``Signature``).
* STS: a credential with a security token requires the request to carry that token
  (``x-oss-security-token``; V1 also ``security-token`` as header or query parameter).

The canonical URI is rebuilt from the decoded bucket and key (not from the raw path), exactly as the SDKs do,
so path-style and virtual-host requests verify alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.http import HttpRequest
from airflow_iprod.local.oss_errors import OssError

V4_ALGORITHM = "OSS4-HMAC-SHA256"
_V4_DATE = "%Y%m%dT%H%M%SZ"
# Query parameters that V1 signs as sub-resources (union of what oss2 and alibabacloud_oss_v2 sign).
V1_SUBRESOURCES = frozenset(
    [
        "acl",
        "uploads",
        "location",
        "cors",
        "logging",
        "website",
        "referer",
        "lifecycle",
        "delete",
        "append",
        "tagging",
        "objectMeta",
        "uploadId",
        "partNumber",
        "security-token",
        "position",
        "img",
        "style",
        "styleName",
        "replication",
        "replicationProgress",
        "replicationLocation",
        "cname",
        "bucketInfo",
        "comp",
        "qos",
        "live",
        "status",
        "vod",
        "startTime",
        "endTime",
        "symlink",
        "x-oss-process",
        "response-content-type",
        "x-oss-traffic-limit",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "udf",
        "udfName",
        "udfImage",
        "udfId",
        "udfImageDesc",
        "udfApplication",
        "udfApplicationLog",
        "restore",
        "callback",
        "callback-var",
        "qosInfo",
        "policy",
        "stat",
        "encryption",
        "versions",
        "versioning",
        "versionId",
        "requestPayment",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "continuation-token",
        "asyncFetch",
        "worm",
        "wormId",
        "wormExtend",
        "withHashContext",
        "x-oss-enable-md5",
        "x-oss-enable-sha1",
        "x-oss-enable-sha256",
        "x-oss-hash-ctx",
        "x-oss-md5-ctx",
        "transferAcceleration",
        "regionList",
        "cloudboxes",
        "x-oss-ac-source-ip",
        "x-oss-ac-subnet-mask",
        "x-oss-ac-vpc-id",
        "x-oss-ac-forward-allow",
        "metaQuery",
        "resourceGroup",
        "rtc",
        "accessPoint",
        "accessPointPolicy",
        "httpsConfig",
        "publicAccessBlock",
        "policyStatus",
        "redundancyTransition",
        "dataRedundancyTransition",
        "objectInfo",
    ]
)
_V1_QUERY_AUTH = frozenset({"OSSAccessKeyId", "Expires", "Signature"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _access_denied(message: str) -> OssError:
    return OssError(403, "AccessDenied", message)


def _bad_auth(message: str) -> OssError:
    return OssError(400, "InvalidArgument", message)


def _mismatch(
    access_key_id: str, provided: str, string_to_sign: str, canonical: str | None = None
) -> OssError:
    extra = {
        "OSSAccessKeyId": access_key_id,
        "SignatureProvided": provided,
        "StringToSign": string_to_sign,
        "StringToSignBytes": " ".join(f"{b:02x}" for b in string_to_sign.encode("utf-8")),
    }
    if canonical is not None:
        extra["CanonicalRequest"] = canonical
    return OssError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        **extra,
    )


def _lookup(config: EngineConfig, access_key_id: str) -> Credential:
    cred = config.credential(access_key_id)
    if cred is None:
        raise OssError(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
            OSSAccessKeyId=access_key_id,
        )
    return cred


def _check_token(cred: Credential, provided: str | None) -> None:
    if cred.security_token is None:
        return
    if not provided:
        raise _access_denied(
            "This access key is an STS credential: the request must carry its security token."
        )
    if not hmac.compare_digest(provided.encode(), cred.security_token.encode()):
        raise OssError(403, "InvalidSecurityToken", "The security token you provided is invalid.")


def _check_skew(config: EngineConfig, when: dt.datetime, now: dt.datetime) -> None:
    if abs((now - when).total_seconds()) > config.timestamp_window_s:
        raise OssError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            RequestTime=when.strftime(_V4_DATE),
            ServerTime=now.strftime(_V4_DATE),
        )


def _raw_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


def resource_path(bucket: str | None, key: str | None) -> str:
    """``/``, ``/bucket/`` or ``/bucket/key`` (decoded), the resource both signature versions sign."""
    uri = "/"
    if bucket is not None:
        uri += bucket + "/"
    if key is not None:
        uri += key
    return uri


@dataclass(frozen=True)
class _Signed:
    """What every verifier looks at: the request, the decoded resource it names, the config and the time."""

    request: HttpRequest
    config: EngineConfig
    bucket: str | None
    key: str | None
    now: dt.datetime

    @property
    def resource(self) -> str:
        return resource_path(self.bucket, self.key)


def verify(
    request: HttpRequest,
    config: EngineConfig,
    bucket: str | None,
    key: str | None,
    *,
    now: dt.datetime | None = None,
) -> Credential:
    """Check the request's signature and return the credential that signed it; OssError otherwise."""
    signed = _Signed(request, config, bucket, key, now or _now())
    auth = (request.headers.get("authorization") or "").strip()
    names = {k for k, _ in _raw_pairs(request.raw_query)}
    if auth.startswith(V4_ALGORITHM):
        return _verify_v4_header(signed, auth)
    if auth.startswith("OSS "):
        return _verify_v1_header(signed, auth)
    if auth:
        raise _bad_auth(
            f"Unsupported Authorization scheme {auth.split(' ')[0]!r}: use OSS4-HMAC-SHA256 or OSS."
        )
    if "x-oss-signature" in names or "x-oss-signature-version" in names:
        return _verify_v4_query(signed)
    if "Signature" in names and "OSSAccessKeyId" in names:
        return _verify_v1_query(signed)
    raise _access_denied("Anonymous access is forbidden for this operation: sign the request.")


# -- V4 ---------------------------------------------------------------------------------------------


def _v4_key(secret: str, date: str, region: str, product: str) -> bytes:
    key = hmac.new(("aliyun_v4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, product, "aliyun_v4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _v4_canonical(signed: _Signed, additional: list[str], exclude: set[str]) -> str:
    request = signed.request
    uri = quote(signed.resource, safe="/")
    pairs = sorted((k, v) for k, v in _raw_pairs(request.raw_query) if k not in exclude)
    query = "&".join(f"{k}={v}" if v else k for k, v in pairs)
    headers = sorted(
        (name, value.strip())
        for name, value in request.headers.items()
        if name.startswith("x-oss-") or name in ("content-type", "content-md5") or name in additional
    )
    canon_headers = "".join(f"{n}:{v}\n" for n, v in headers)
    payload = request.headers.get("x-oss-content-sha256") or "UNSIGNED-PAYLOAD"
    return f"{request.method}\n{uri}\n{query}\n{canon_headers}\n{';'.join(additional)}\n{payload}"


def _v4_check(
    signed: _Signed,
    cred: Credential,
    scope_parts: list[str],
    stamp: str,
    provided: str,
    additional: list[str],
    exclude: set[str],
) -> Credential:
    date, region, product, _ = scope_parts
    canonical = _v4_canonical(signed, additional, exclude)
    scope = "/".join(scope_parts)
    string_to_sign = "\n".join(
        [V4_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    expected = hmac.new(
        _v4_key(cred.access_key_secret, date, region, product), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, provided.lower()):
        raise _mismatch(cred.access_key_id, provided, string_to_sign, canonical)
    return cred


def _parse_scope(credential: str) -> tuple[str, list[str]]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aliyun_v4_request" or len(parts[1]) != 8 or not parts[3]:
        raise _bad_auth(
            f"Invalid credential {credential!r}: expected AccessKeyId/YYYYMMDD/region/oss/aliyun_v4_request."
        )
    return parts[0], parts[1:]


def _parse_stamp(stamp: str | None, what: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(stamp or "", _V4_DATE).replace(tzinfo=dt.UTC)
    except ValueError:
        raise _bad_auth(f"{what} {stamp!r} is not a timestamp of the form YYYYMMDDTHHMMSSZ.") from None


def _additional(value: str) -> list[str]:
    return sorted({h.strip().lower() for h in value.split(";") if h.strip()})


def _verify_v4_header(signed: _Signed, auth: str) -> Credential:
    request, config = signed.request, signed.config
    fields: dict[str, str] = {}
    for item in auth[len(V4_ALGORITHM) :].split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    if "Credential" not in fields or "Signature" not in fields:
        raise _bad_auth(
            "The Authorization header needs Credential=... and Signature=... for OSS4-HMAC-SHA256."
        )
    access_key_id, scope = _parse_scope(fields["Credential"])
    cred = _lookup(config, access_key_id)
    stamp = request.headers.get("x-oss-date")
    when = _parse_stamp(stamp, "x-oss-date")
    _check_skew(config, when, signed.now)
    if stamp[:8] != scope[0]:  # type: ignore[index]
        raise _bad_auth(f"The credential date {scope[0]} is not the date of x-oss-date {stamp}.")
    _check_token(cred, request.headers.get("x-oss-security-token"))
    additional = _additional(fields.get("AdditionalHeaders", ""))
    return _v4_check(signed, cred, scope, stamp, fields["Signature"], additional, set())  # type: ignore[arg-type]


def _verify_v4_query(signed: _Signed) -> Credential:
    config, now = signed.config, signed.now
    params = dict(signed.request.query)
    if params.get("x-oss-signature-version") != V4_ALGORITHM:
        raise _bad_auth(f"x-oss-signature-version must be {V4_ALGORITHM}.")
    for name in ("x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-signature"):
        if not params.get(name):
            raise _bad_auth(f"A presigned V4 URL needs the query parameter {name}.")
    access_key_id, scope = _parse_scope(params["x-oss-credential"])
    cred = _lookup(config, access_key_id)
    when = _parse_stamp(params["x-oss-date"], "x-oss-date")
    try:
        expires = int(params["x-oss-expires"])
    except ValueError:
        raise _bad_auth(f"x-oss-expires {params['x-oss-expires']!r} is not a number of seconds.") from None
    if now > when + dt.timedelta(seconds=expires):
        raise _access_denied("Request has expired.")
    if when - now > dt.timedelta(seconds=config.timestamp_window_s):
        raise _access_denied("The request time is in the future.")
    _check_token(cred, params.get("x-oss-security-token"))
    additional = _additional(params.get("x-oss-additional-headers", ""))
    return _v4_check(
        signed, cred, scope, params["x-oss-date"], params["x-oss-signature"], additional, {"x-oss-signature"}
    )


# -- V1 ---------------------------------------------------------------------------------------------


def _v1_strings(signed: _Signed, date: str, skip: frozenset[str]) -> list[str]:
    """Candidate strings-to-sign: sub-resources from the known list, then every query parameter.

    A client may sign an operation-specific parameter the server cannot know about; the second candidate
    covers that. Both are strings the key holder must have signed, so accepting either is safe.
    """
    request = signed.request
    md5 = request.headers.get("content-md5") or ""
    ctype = request.headers.get("content-type") or ""
    oss_headers = sorted((n, v.strip()) for n, v in request.headers.items() if n.startswith("x-oss-"))
    canon_headers = "".join(f"{n}:{v}\n" for n, v in oss_headers)
    pairs = [(unquote(k), unquote(v)) for k, v in _raw_pairs(request.raw_query)]
    candidates = []
    for wanted in (lambda k: k in V1_SUBRESOURCES, lambda k: k not in skip):
        chosen = sorted((k, v) for k, v in pairs if wanted(k))
        sub = "&".join(f"{k}={v}" if v else k for k, v in chosen)
        resource = signed.resource + (f"?{sub}" if sub else "")
        text = f"{request.method}\n{md5}\n{ctype}\n{date}\n{canon_headers}{resource}"
        if text not in candidates:
            candidates.append(text)
    return candidates


def _v1_check(cred: Credential, candidates: list[str], provided: str) -> Credential:
    for text in candidates:
        digest = hmac.new(cred.access_key_secret.encode(), text.encode("utf-8"), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode(), provided):
            return cred
    raise _mismatch(cred.access_key_id, provided, candidates[0])


def _verify_v1_header(signed: _Signed, auth: str) -> Credential:
    request, config = signed.request, signed.config
    access_key_id, sep, provided = auth[4:].strip().rpartition(":")
    if not sep or not access_key_id:
        raise _bad_auth("The Authorization header must be 'OSS AccessKeyId:Signature'.")
    cred = _lookup(config, access_key_id)
    dates = [d for d in (request.headers.get("x-oss-date"), request.headers.get("date")) if d]
    if not dates:
        raise _access_denied("A V1-signed request needs a Date (or x-oss-date) header.")
    try:
        when = parsedate_to_datetime(dates[-1])
    except (TypeError, ValueError):
        raise _bad_auth(f"Date {dates[-1]!r} is not an RFC 1123 date.") from None
    _check_skew(config, when.astimezone(dt.UTC), signed.now)
    token = request.headers.get("x-oss-security-token") or request.headers.get("security-token")
    _check_token(cred, token or dict(request.query).get("security-token"))
    candidates = [s for d in dates for s in _v1_strings(signed, d, frozenset())]
    return _v1_check(cred, candidates, provided)


def _verify_v1_query(signed: _Signed) -> Credential:
    params = dict(signed.request.query)
    cred = _lookup(signed.config, params["OSSAccessKeyId"])
    try:
        expires = int(params.get("Expires", ""))
    except ValueError:
        raise _bad_auth(f"Expires {params.get('Expires')!r} is not a Unix time.") from None
    if signed.now.timestamp() > expires:
        raise _access_denied("Request has expired.")
    _check_token(cred, params.get("security-token"))
    return _v1_check(cred, _v1_strings(signed, str(expires), _V1_QUERY_AUTH), params["Signature"])
