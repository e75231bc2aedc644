"""Every maintained Python client of ICE and MPS, behind one small interface, for the conformance matrix.

Each ``RpcClient`` submits, queries and (ICE) cancels through a real client over real HTTP and hands
back the answer as the user's code sees it (``Answer.raw``).

* ``tea-acs3`` / ``tea-rpc-v2``: ``alibabacloud_ice20201109`` / ``alibabacloud_mts20140618``, sync
  methods, ACS3-HMAC-SHA256 (the SDK default) and RPC HMAC-SHA1 signatures.
* ``tea-async``: the same SDKs' ``*_async`` methods (aiohttp underneath).
* ``core``: the previous generation, ``aliyun-python-sdk-core`` with ``aliyun-python-sdk-ice`` /
  ``aliyun-python-sdk-mts`` request classes. ``aliyun-python-sdk-ice`` 1.0.2 has no
  CancelIProductionJob class: Cancel goes through core's ``CommonRequest`` with the documented action
  and version, as its docs say to for actions a product package lacks.

An error comes back as ``ClientError(status, code, message)`` whatever the client's exception type.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ICE_VERSION = "2020-11-09"
MPS_VERSION = "2014-06-18"
GMT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # the APIs' documented UTC time format
DONE = ("Success", "Fail")


@dataclass
class Answer:
    # The body as the user gets it: core's parsed JSON (every field sent), or the Tea SDK model's
    # to_map() (only the fields the SDK models, i.e. the documented ones, with the values as sent).
    raw: dict[str, Any]


@dataclass
class ClientError(Exception):
    status: int | None
    code: str
    message: str


@dataclass
class Job:
    """What a test submitted, to compare Query's echo with."""

    function_name: str
    input: str | None
    output: str | None
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    user_data: str | None = None
    priority: int | None = None
    pipeline_id: str | None = None


class RpcClient:
    """One client of one API. Subclasses implement the three calls; all are awaitable."""

    name: str
    api: str  # "ice" or "mts"

    async def submit(self, job: Job) -> str:
        raise NotImplementedError

    async def query(self, job_id: str) -> Answer:
        raise NotImplementedError

    async def cancel(self, job_id: str) -> Answer:
        raise NotImplementedError

    async def wait(self, job_id: str, timeout: float = 60) -> Answer:
        deadline = time.monotonic() + timeout
        key = "Status" if self.api == "ice" else "State"
        while True:
            answer = await self.query(job_id)
            if answer.raw.get(key) in DONE:
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: job {job_id} still {answer.raw.get(key)}")
            await asyncio.sleep(0.1)


# -- alibabacloud_* (Tea) SDKs ----------------------------------------------------------------------


def _tea_error(err: Exception) -> ClientError:
    data = getattr(err, "data", None) or {}
    status = getattr(err, "status_code", None) or data.get("statusCode")
    return ClientError(status, getattr(err, "code", "") or "", getattr(err, "message", "") or str(err))


class TeaClient(RpcClient):
    def __init__(self, handle: Any, api: str, *, signature: str | None = None, use_async: bool = False):
        self.api = api
        self.use_async = use_async
        style = "async" if use_async else ("rpc-v2" if signature == "v2" else "acs3")
        self.name = f"tea-{style}"
        self._client = (
            handle.ice(signature_algorithm=signature)
            if api == "ice"
            else handle.mts(signature_algorithm=signature)
        )
        if api == "ice":
            import alibabacloud_ice20201109.models as models
        else:
            import alibabacloud_mts20140618.models as models
        self._m = models

    async def _call(self, method: str, request: Any) -> Any:
        try:
            if self.use_async:
                return await getattr(self._client, f"{method}_async")(request)
            return getattr(self._client, method)(request)
        except Exception as err:  # Tea raises TeaException / ClientException with code and status
            if getattr(err, "code", None) is None:
                raise
            raise _tea_error(err) from None

    async def submit(self, job: Job) -> str:
        m = self._m
        params = json.dumps(job.params) if job.params else None
        if self.api == "ice":
            sched = None
            if job.priority is not None or job.pipeline_id is not None:
                sched = m.SubmitIProductionJobRequestScheduleConfig(
                    priority=job.priority, pipeline_id=job.pipeline_id
                )
            request = m.SubmitIProductionJobRequest(
                function_name=job.function_name,
                name=job.name,
                input=m.SubmitIProductionJobRequestInput(type="OSS", media=job.input) if job.input else None,
                output=m.SubmitIProductionJobRequestOutput(type="OSS", media=job.output)
                if job.output
                else None,
                job_params=params,
                user_data=job.user_data,
                schedule_config=sched,
            )
        else:
            request = m.SubmitIProductionJobRequest(
                function_name=job.function_name,
                input=job.input,
                output=job.output,
                job_params=params,
                user_data=job.user_data,
                pipeline_id=job.pipeline_id,
            )
        response = await self._call("submit_iproduction_job", request)
        return response.body.job_id

    async def query(self, job_id: str) -> Answer:
        request = self._m.QueryIProductionJobRequest(job_id=job_id)
        response = await self._call("query_iproduction_job", request)
        return Answer(raw=response.body.to_map())

    async def cancel(self, job_id: str) -> Answer:
        if self.api != "ice":
            raise TypeError("the MPS SDK has no CancelIProductionJob")
        response = await self._call(
            "cancel_iproduction_job", self._m.CancelIProductionJobRequest(job_id=job_id)
        )
        return Answer(raw=response.body.to_map())


# -- aliyun-python-sdk-core (previous generation) --------------------------------------------------


class CoreClient(RpcClient):
    def __init__(self, handle: Any, api: str):
        from aliyunsdkcore.client import AcsClient

        self.api = api
        self.name = "core"
        self._endpoint = handle.endpoint
        self._client = AcsClient(handle.access_key_id, handle.access_key_secret, handle.region)

    def _send(self, request: Any) -> dict[str, Any]:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

        request.set_endpoint(self._endpoint)
        request.set_protocol_type("http")
        try:
            return json.loads(self._client.do_action_with_exception(request))
        except ServerException as err:
            raise ClientError(err.get_http_status(), err.get_error_code(), err.get_error_msg()) from None
        except ClientException as err:
            raise ClientError(None, err.get_error_code(), err.get_error_msg()) from None

    async def submit(self, job: Job) -> str:
        if self.api == "ice":
            from aliyunsdkice.request.v20201109.SubmitIProductionJobRequest import SubmitIProductionJobRequest

            request = SubmitIProductionJobRequest()
            if job.input:
                request.set_Input({"Type": "OSS", "Media": job.input})
            if job.output:
                request.set_Output({"Type": "OSS", "Media": job.output})
            if job.name:
                request.set_Name(job.name)
            sched = {k: v for k, v in (("Priority", job.priority), ("PipelineId", job.pipeline_id)) if v}
            if sched:
                request.set_ScheduleConfig(sched)
        else:
            from aliyunsdkmts.request.v20140618.SubmitIProductionJobRequest import SubmitIProductionJobRequest

            request = SubmitIProductionJobRequest()
            if job.input:
                request.set_Input(job.input)
            if job.output:
                request.set_Output(job.output)
            if job.pipeline_id:
                request.set_PipelineId(job.pipeline_id)
        request.set_FunctionName(job.function_name)
        if job.params:
            request.set_JobParams(json.dumps(job.params))
        if job.user_data:
            request.set_UserData(job.user_data)
        return self._send(request)["JobId"]

    async def query(self, job_id: str) -> Answer:
        if self.api == "ice":
            from aliyunsdkice.request.v20201109.QueryIProductionJobRequest import QueryIProductionJobRequest
        else:
            from aliyunsdkmts.request.v20140618.QueryIProductionJobRequest import QueryIProductionJobRequest
        request = QueryIProductionJobRequest()
        request.set_JobId(job_id)
        return Answer(raw=self._send(request))

    async def cancel(self, job_id: str) -> Answer:
        return Answer(raw=self._send(self.common_request("CancelIProductionJob", JobId=job_id)))

    def common_request(self, action: str, **params: str) -> Any:
        """Core's generic request for an action no product package models (ICE's Cancel)."""
        from aliyunsdkcore.request import CommonRequest

        request = CommonRequest(
            version=ICE_VERSION if self.api == "ice" else MPS_VERSION,
            action_name=action,
            product="ICE" if self.api == "ice" else "Mts",
        )
        request.set_method("POST")
        for key, value in params.items():
            request.add_query_param(key, value)
        return request


CLIENT_NAMES = ("tea-acs3", "tea-rpc-v2", "tea-async", "core")


def make_client(name: str, handle: Any, api: str) -> RpcClient:
    if name == "core":
        return CoreClient(handle, api)
    signature = "v2" if name == "tea-rpc-v2" else None
    return TeaClient(handle, api, signature=signature, use_async=name == "tea-async")


async def finished_jobs(
    client_name: str, handle: Any, api: str, jobs: list[Job], check: Callable[..., None]
) -> list[tuple[Job, dict[str, Any]]]:
    # Outputs go under oss://media/clients/{ice|mps}/<client>/ (the product names, as the tests write them)
    """Submit ``jobs`` through one client, wait for each and run ``check(body, job, job_id, data_dir)``
    on its Query answer; every OutputUrl must download from the engine as it is."""
    import requests

    client = make_client(client_name, handle, api)
    ids = [await client.submit(job) for job in jobs]
    done = []
    for job, job_id in zip(jobs, ids, strict=True):
        body = (await client.wait(job_id)).raw
        check(body, job, job_id, str(handle.data_dir))
        for url in body.get("OutputUrls", []):  # MPS: only in raw JSON, its SDK model has no OutputUrls
            folder = "ice" if api == "ice" else "mps"
            assert url.startswith(f"http://{handle.endpoint}/media/clients/{folder}/{client_name}/"), url
            got = requests.get(url, timeout=10)
            assert got.status_code == 200 and got.content, url
        done.append((job, body))
    return done


def audio_inputs(
    upload: Any, folder: str, names: tuple[str, str], bpm: int, seconds: float, seed: int
) -> dict:
    """A 2 s noisy tone and ``seconds`` of drums at ``bpm``, uploaded under ``oss://media/{folder}/in/``
    as ``names`` (tone, drums); returned as {"tone": url, "drums": url}."""
    import io

    import soundfile as sf

    from tests.local.wavgen import noisy_tone_wav
    from tests.mediagen.music import beat_song

    song = beat_song(bpm, seconds=seconds, seed=seed)
    buf = io.BytesIO()
    sf.write(buf, song.audio.T, song.sr, format="WAV", subtype="PCM_16")
    return {
        "tone": upload(noisy_tone_wav(2.0), f"{folder}/in/{names[0]}"),
        "drums": upload(buf.getvalue(), f"{folder}/in/{names[1]}"),
    }
