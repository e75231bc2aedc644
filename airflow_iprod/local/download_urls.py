"""URLs a user can fetch an engine object with: presigned GETs on the engine's own endpoint.

The cloud answers OutputUrls and GetMediaInfo's FileUrl with the object's URL on OSS, signed when the
bucket is private. Every bucket of the local engine is private (anonymous reads are refused), so its
URLs are the same thing for the engine: path-style (``http://HOST:PORT/bucket/key``, the host has no
bucket subdomains) and signed with the engine's own key (OSS V1 query signature, as the cloud's
signed media URLs are), fresh at each answer. ``alibabacloud_oss_v2``'s presigner signs them: the
engine's verifier is not asked to agree with itself.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.local.config import Credential, EngineConfig

DEFAULT_EXPIRES_S = 3600  # GetMediaInfo's documented AuthTimeout default; OutputUrls use it too
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class DownloadUrls:
    def __init__(self, config: EngineConfig, endpoint: Callable[[], str]) -> None:
        """``endpoint()`` (``host:port``) is asked when a URL is made: the port is known only once the
        server listens. URLs are signed with the engine's first key (its own, unless keys were given)."""
        self._config = config
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_for: tuple[str, Credential] | None = None

    def for_object(self, oss_url: str, expires_s: int = DEFAULT_EXPIRES_S) -> str:
        """A presigned GET URL, valid ``expires_s`` seconds, for ``oss://bucket/key``."""
        import alibabacloud_oss_v2 as oss

        bucket, key = catalog.split_oss_url(oss_url)
        request = oss.GetObjectRequest(bucket=bucket, key=key)
        return self._signer().presign(request, expires=dt.timedelta(seconds=expires_s)).url

    def _signer(self) -> Any:
        import alibabacloud_oss_v2 as oss

        host, _, port = self._endpoint().rpartition(":")
        if host in _WILDCARD_HOSTS:  # listening on every interface: this machine's loopback reaches it
            host = "127.0.0.1"
        endpoint, cred = f"{host}:{port}", next(iter(self._config.credentials.values()))
        with self._lock:
            if self._client is None or self._client_for != (endpoint, cred):
                cfg = oss.config.load_default()
                cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
                    cred.access_key_id, cred.access_key_secret, cred.security_token
                )
                cfg.region = self._config.region
                scheme = "https" if self._config.tls else "http"
                cfg.endpoint = f"{scheme}://{endpoint}"
                cfg.use_path_style = True
                cfg.signature_version = "v1"
                self._client, self._client_for = oss.Client(cfg), (endpoint, cred)
            return self._client
