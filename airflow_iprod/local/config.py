"""Local engine configuration: data dir, credentials, limits, fault injection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None  # set for an STS credential: requests must carry this token


@dataclass
class EngineConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    region: str = "cn-shanghai"
    credentials: dict[str, Credential] = field(default_factory=dict)

    def credential(self, access_key_id: str) -> Credential | None:
        return self.credentials.get(access_key_id)
