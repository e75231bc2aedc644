"""Local engine configuration: data dir, credentials, limits, fault injection."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PIPELINE = "default"
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None  # set for an STS credential: requests must carry this token


@dataclass
class FaultConfig:
    """Failure modes a test can switch on; all off by default."""

    latency_ms: float = 0.0  # added to every RPC answer
    query_error_rate: float = 0.0  # share of Query calls answered with ``query_error_code`` (0..1)
    query_error_code: str = "ServiceUnavailable"
    query_error_status: int = 503
    fail_jobs: frozenset[str] = frozenset()  # FunctionNames (or "*") whose jobs end in Fail without running
    fail_message: str = "Injected failure (fault injection is enabled in the local engine config)"
    job_latency_s: float = 0.0  # each job holds its worker this long before its algorithm starts
    callback_drop_rate: float = 0.0  # share of job completion callbacks (MNS messages) never sent (0..1)
    callback_delay_s: float = 0.0  # each completion callback is sent this long after its job ended
    seed: int | None = None
    # A job whose UserData is JSON with "iprod_fault_hold_s": N stays Queuing N s after its submit before
    # it may start (jobs of known lengths for scheduling benchmarks; with fail_jobs they end then, in Fail)
    user_data_hold: bool = False


@dataclass
class EngineConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    region: str = "cn-shanghai"
    credentials: dict[str, Credential] = field(default_factory=dict)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    pipeline_concurrency: int = 10  # documented default per pipeline; never above ``workers``
    pipelines: dict[str, int] = field(default_factory=dict)  # PipelineId -> concurrency, overrides default
    throttle_rate: float = 100.0  # requests per second per action (documented QPS limit)
    throttle_rates: dict[str, float] = field(default_factory=dict)  # Action -> rate, overrides default
    timestamp_window_s: float = 15 * 60  # how far a signed timestamp may be from now
    nonce_ttl_s: float = 15 * 60  # nonces are remembered at least as long as a timestamp is valid
    faults: FaultConfig = field(default_factory=FaultConfig)
    python: str | None = None  # interpreter for worker processes; default: the engine's own
    # Runs a job gets when its worker dies without reporting (kill -9, OOM, a crash): the cloud does not
    # fail a job because one machine died. Only the algorithm's own failure ends a job in Fail.
    worker_attempts: int = 3
    # Serve HTTPS with a certificate from the engine's own CA (data_dir/tls/ca.pem): the cloud's protocol
    tls: bool = False

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    def credential(self, access_key_id: str) -> Credential | None:
        return self.credentials.get(access_key_id)

    def add_credential(self, credential: Credential) -> None:
        self.credentials[credential.access_key_id] = credential

    def concurrency(self, pipeline_id: str) -> int:
        limit = self.pipelines.get(pipeline_id, self.pipeline_concurrency)
        return max(1, min(limit, self.workers))

    def rate_for(self, action: str) -> float:
        return self.throttle_rates.get(action, self.throttle_rate)


def load_or_create_credential(data_dir: Path) -> Credential:
    """The engine's own key pair, generated once and kept in the data dir (mode 0600)."""
    path = Path(data_dir) / CREDENTIALS_FILE
    if path.exists():
        data = json.loads(path.read_text())
        return Credential(data["access_key_id"], data["access_key_secret"])
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cred = Credential("LTAIlocal" + secrets.token_hex(8), secrets.token_urlsafe(24))
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"access_key_id": cred.access_key_id, "access_key_secret": cred.access_key_secret}, fh)
    os.replace(tmp, path)
    return cred
