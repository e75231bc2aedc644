"""ClientSettings: what identifies one Alibaba Cloud SDK client, read from an IProduction connection.

Its own module so that the hook (ICE/MPS client) and the OSS client builder share it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ClientSettings:
    """Everything that identifies one SDK client (the cache key, minus secrets kept as a digest)."""

    api: str
    endpoint: str
    region: str
    protocol: str
    access_key_id: str | None
    access_key_secret: str | None
    security_token: str | None
    read_timeout_ms: int
    connect_timeout_ms: int
    # PEM file of extra CAs to trust over HTTPS (the local engine's generated CA); None: the system's
    ca_bundle: str | None = None
    mns_endpoint: str | None = None  # the callback queue's Message Service endpoint (not the client's)

    @property
    def is_cloud(self) -> bool:
        """Alibaba Cloud's own endpoint (``*.aliyuncs.com``). Anything else that speaks this API is a
        local engine, on loopback or on the host it was started on."""
        host = self.endpoint.split("/", 1)[0]
        host = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
        return host.lower().rstrip(".").endswith(".aliyuncs.com")

    def cache_key(self) -> tuple[Any, ...]:
        return (
            self.api,
            self.endpoint,
            self.region,
            self.protocol,
            self.access_key_id,
            hash((self.access_key_secret, self.security_token)),
            self.read_timeout_ms,
            self.connect_timeout_ms,
            self.ca_bundle,
        )
