"""Session fixtures for end-to-end tests: a local engine on a free port and official SDK clients.

* ``local_engine`` -> ``EngineHandle`` (.endpoint "127.0.0.1:PORT", .access_key_id, .access_key_secret,
  .data_dir, .region, .engine = the running ``LocalEngine``). One per test session, in this process.
* ``ice_client`` / ``mts_client``: ``alibabacloud_ice20201109`` / ``alibabacloud_mts20140618`` clients
  (ACS3 signing, protocol http) pointed at it. ``oss_client``: ``alibabacloud_oss_v2`` client (path style).
* ``upload(path_or_bytes, key, bucket="media") -> "oss://bucket/key"`` puts a file into the engine's store.
* ``run_job(api, function_name, input_url, output_url, job_params=None, timeout=120, **fields) -> dict``
  submits through the SDK, polls Query until Success/Fail and returns the Query body as a dict
  (the SDK model's ``to_map()``: ICE has ``Status``, MPS ``State``). Extra ICE fields: ``name``,
  ``model_id``, ``user_data``, ``template_id``, ``priority``, ``pipeline_id``, ``input_type``,
  ``output_type``, ``biz``, ``output_url`` (OutputUrl for Output.Type=Media), ``output_media``
  (overrides ``output_url`` as Output.Media); MPS: ``model_id``, ``user_data``, ``pipeline_id``,
  ``notify_url``, ``schedule_params``.
* ``submit_job(api, ...)`` -> JobId (same arguments, no wait) and ``wait_job(api, job_id, timeout)`` -> dict.
* ``make_engine(**config)`` (function scope) -> a further ``EngineHandle`` with its own data dir and
  config (e.g. ``workers=1``); stopped after the test. ``handle.restart()`` stops it and starts a new
  engine on the same data dir and port.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.engine import LocalEngine

# Sets AIRFLOW_HOME and friends before any test imports Airflow; its fixtures apply everywhere.
from tests.airflow_env import airflow_db, iprod_conn, make_conn, noisy_wav, run_dag  # noqa: F401

# The engine is on 127.0.0.1: never send its traffic through a proxy from the environment.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

TEST_KEY_ID = "LTAItestlocalkey"
TEST_KEY_SECRET = "test-secret-for-the-local-engine"
REGION = "cn-shanghai"
DEFAULT_BUCKET = "media"


@dataclass
class EngineHandle:
    engine: LocalEngine
    config: EngineConfig
    access_key_id: str = TEST_KEY_ID
    access_key_secret: str = TEST_KEY_SECRET
    region: str = REGION
    _extra: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.engine.endpoint

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def restart(self) -> EngineHandle:
        """Stop this engine and start a new one on the same data dir and port (jobs in flight rerun)."""
        port = self.engine.port
        self.engine.stop()
        self.config.port = port
        self.engine = LocalEngine(self.config).start()
        return self

    def ice(self, **config: Any) -> Any:
        return ice_client_for(self, **config)

    def mts(self, **config: Any) -> Any:
        return mts_client_for(self, **config)


def _start(data_dir: Path, **overrides: Any) -> EngineHandle:
    config = EngineConfig(
        data_dir=data_dir,
        port=0,
        region=REGION,
        credentials={TEST_KEY_ID: Credential(TEST_KEY_ID, TEST_KEY_SECRET)},
        **overrides,
    )
    engine = LocalEngine(config).start()
    engine.objects.create_bucket(DEFAULT_BUCKET, REGION)
    return EngineHandle(engine=engine, config=config)


def _sdk_config(handle: EngineHandle, **config: Any) -> Any:
    from alibabacloud_tea_openapi.models import Config

    values = dict(
        access_key_id=handle.access_key_id,
        access_key_secret=handle.access_key_secret,
        endpoint=handle.endpoint,
        protocol="http",
        region_id=handle.region,
        read_timeout=30000,
        connect_timeout=5000,
    )
    values.update(config)
    return Config(**values)


def ice_client_for(handle: EngineHandle, **config: Any) -> Any:
    from alibabacloud_ice20201109.client import Client

    return Client(_sdk_config(handle, **config))


def mts_client_for(handle: EngineHandle, **config: Any) -> Any:
    from alibabacloud_mts20140618.client import Client

    return Client(_sdk_config(handle, **config))


@pytest.fixture(scope="session")
def local_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineHandle]:
    # A PipelineId must exist: the flow tests submit to these two besides "default".
    handle = _start(tmp_path_factory.mktemp("iprod-engine"), pipelines={"pipe-a": 10, "mps-pipe": 10})
    yield handle
    handle.engine.stop()


@pytest.fixture
def make_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., EngineHandle]]:
    started: list[EngineHandle] = []

    def _make(**config: Any) -> EngineHandle:
        handle = _start(tmp_path_factory.mktemp("iprod-engine-x"), **config)
        started.append(handle)
        return handle

    yield _make
    for handle in started:
        handle.engine.stop()


@pytest.fixture(scope="session")
def ice_client(local_engine: EngineHandle) -> Any:
    return ice_client_for(local_engine)


@pytest.fixture(scope="session")
def mts_client(local_engine: EngineHandle) -> Any:
    return mts_client_for(local_engine)


def oss_client_for(handle: EngineHandle) -> Any:
    import alibabacloud_oss_v2 as oss

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        handle.access_key_id, handle.access_key_secret
    )
    cfg.region = handle.region
    cfg.endpoint = f"http://{handle.endpoint}"
    cfg.use_path_style = True
    return oss.Client(cfg)


@pytest.fixture(scope="session")
def oss_client(local_engine: EngineHandle) -> Any:
    return oss_client_for(local_engine)


def upload_to(handle: EngineHandle, data: bytes | str | Path, key: str, bucket: str = DEFAULT_BUCKET) -> str:
    """Put bytes or a file into the engine's object store; returns ``oss://bucket/key``."""
    payload = Path(data).read_bytes() if isinstance(data, str | Path) else data
    try:
        import airflow_iprod.local.oss_api  # noqa: F401 - the object API is there: go through the wire
    except ImportError:
        import io

        handle.engine.objects.create_bucket(bucket, handle.region)
        handle.engine.objects.put_object(bucket, key, io.BytesIO(payload), length=len(payload))
    else:
        import alibabacloud_oss_v2 as oss

        client = handle._extra.get("oss") or oss_client_for(handle)
        handle._extra["oss"] = client
        handle.engine.objects.create_bucket(bucket, handle.region)
        client.put_object(oss.PutObjectRequest(bucket=bucket, key=key, body=payload))
    return f"oss://{bucket}/{key}"


@pytest.fixture(scope="session")
def upload(local_engine: EngineHandle) -> Callable[..., str]:
    def _upload(data: bytes | str | Path, key: str, bucket: str = DEFAULT_BUCKET) -> str:
        return upload_to(local_engine, data, key, bucket)

    return _upload


# -- submitting and waiting ------------------------------------------------------------------------


def submit_to(
    client: Any,
    api: str,
    function_name: str,
    input_url: str | None,
    output_url: str | None,
    job_params: Any = None,
    **fields: Any,
) -> str:
    import json

    params = job_params if job_params is None or isinstance(job_params, str) else json.dumps(job_params)
    if api == "ice":
        from alibabacloud_ice20201109 import models as m

        output_type = fields.pop("output_type", "OSS")
        if output_type == "Media":
            output = m.SubmitIProductionJobRequestOutput(
                type="Media",
                media=fields.pop("output_media", None),
                output_url=output_url,
                biz=fields.pop("biz", None),
            )
        else:
            output = m.SubmitIProductionJobRequestOutput(
                type=output_type, media=fields.pop("output_media", output_url), biz=fields.pop("biz", None)
            )
        sched = None
        if "priority" in fields or "pipeline_id" in fields:
            sched = m.SubmitIProductionJobRequestScheduleConfig(
                priority=fields.pop("priority", None), pipeline_id=fields.pop("pipeline_id", None)
            )
        request = m.SubmitIProductionJobRequest(
            function_name=function_name,
            input=m.SubmitIProductionJobRequestInput(type=fields.pop("input_type", "OSS"), media=input_url),
            output=output,
            job_params=params,
            schedule_config=sched,
            **fields,
        )
        return client.submit_iproduction_job(request).body.job_id
    from alibabacloud_mts20140618 import models as m

    request = m.SubmitIProductionJobRequest(
        function_name=function_name, input=input_url, output=output_url, job_params=params, **fields
    )
    return client.submit_iproduction_job(request).body.job_id


def wait_for(client: Any, api: str, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if api == "ice":
            from alibabacloud_ice20201109 import models as m

            body = client.query_iproduction_job(m.QueryIProductionJobRequest(job_id=job_id)).body.to_map()
            status = body.get("Status")
        else:
            from alibabacloud_mts20140618 import models as m

            body = client.query_iproduction_job(m.QueryIProductionJobRequest(job_id=job_id)).body.to_map()
            status = body.get("State")
        if status in ("Success", "Fail"):
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout} s: {body}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


@pytest.fixture(scope="session")
def submit_job(ice_client: Any, mts_client: Any) -> Callable[..., str]:
    def _submit(api: str, *args: Any, **fields: Any) -> str:
        """``submit_to`` (same arguments after ``api``) with the session's client for ``api``."""
        return submit_to(ice_client if api == "ice" else mts_client, api, *args, **fields)

    return _submit


@pytest.fixture(scope="session")
def wait_job(ice_client: Any, mts_client: Any) -> Callable[..., dict[str, Any]]:
    def _wait(api: str, job_id: str, timeout: float = 120) -> dict[str, Any]:
        return wait_for(ice_client if api == "ice" else mts_client, api, job_id, timeout)

    return _wait


@pytest.fixture(scope="session")
def run_job(submit_job: Callable[..., str], wait_job: Callable[..., dict[str, Any]]) -> Callable[..., dict]:
    def _run(
        api: str,
        function_name: str,
        input_url: str | None,
        output_url: str | None,
        job_params: Any = None,
        timeout: float = 120,
        **fields: Any,
    ) -> dict[str, Any]:
        job_id = submit_job(api, function_name, input_url, output_url, job_params, **fields)
        return wait_job(api, job_id, timeout)

    return _run
