"""ICE (2020-11-09) conformance: every maintained Python client submits, queries and cancels IProduction
jobs on the local engine over real HTTP, and reads every documented Query field in its documented
format. Clients: ``iprod_clients.CLIENT_NAMES`` (Tea SDK sync with both signatures, Tea async, and the
previous-generation aliyun-python-sdk-core). Cheap algorithms on a few seconds of audio keep it fast.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import soundfile as sf

from airflow_iprod.local.config import FaultConfig
from tests.local.clients.iprod_clients import (
    CLIENT_NAMES,
    GMT,
    ClientError,
    Job,
    audio_inputs,
    finished_jobs,
    make_client,
)
from tests.local.wavgen import noisy_tone_wav

STATUSES = {"Queuing", "Analyzing", "Fail", "Success"}
# Documented QueryIProductionJob fields (the SDK's response model) and their JSON types.
ICE_QUERY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "RequestId": str,
    "JobId": str,
    "Name": str,
    "FunctionName": str,
    "Input": dict,
    "Output": dict,
    "JobParams": str,
    "TemplateId": str,
    "ScheduleConfig": dict,
    "UserData": str,
    "Result": str,
    "CreateTime": str,
    "FinishTime": str,
    "Status": str,
    "OutputFiles": list,
    "OutputMediaIds": list,
    "OutputUrls": list,
}


@pytest.fixture(scope="module")
def inputs(upload: Any) -> dict[str, str]:
    """A 2 s noisy tone (SpeechDenoise, AudioQualityAssessment) and 4 s of drums to mix into it."""
    got = audio_inputs(upload, "clients/ice", ("take.wav", "drums.wav"), bpm=120, seconds=4.0, seed=3)
    return {"speech": got["tone"], "music": got["drums"]}


@pytest.fixture(scope="module")
def held_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An engine whose jobs wait a minute before they run: what a Cancel test needs to catch."""
    from tests.conftest import _start, upload_to

    handle = _start(tmp_path_factory.mktemp("iprod-held"), workers=1, faults=FaultConfig(job_latency_s=60))
    upload_to(handle, noisy_tone_wav(1.0), "clients/held/take.wav")
    yield handle
    handle.engine.stop()


def _jobs(client_name: str, inputs: dict[str, str]) -> list[Job]:
    out = f"oss://media/clients/ice/{client_name}"
    return [
        Job(
            "SpeechDenoise",
            inputs["speech"],
            out + "/{source}-clean.wav",
            name=f"denoise via {client_name}",
            user_data=json.dumps({"client": client_name}),
            priority=4,
            pipeline_id="default",
        ),
        Job("AudioQualityAssessment", inputs["speech"], None, user_data="aqa"),
        Job(
            "AudioMixing",
            inputs["speech"],
            out + "/{source}-mix.wav",
            {"inputs": [{"file": inputs["music"]}]},
        ),
    ]


def check_query_body(body: dict[str, Any], job: Job, job_id: str, data_dir: str) -> None:
    """Every documented field the job has, with the documented JSON type and format."""
    assert set(ICE_QUERY_FIELDS) - {"TemplateId", "JobParams"} - ({"Name"} if job.name is None else set()) - (
        {"UserData"} if job.user_data is None else set()
    ) <= set(body), sorted(body)
    for name, kind in ICE_QUERY_FIELDS.items():
        if name in body:
            assert isinstance(body[name], kind), (name, body[name])
    assert body["JobId"] == job_id and body["FunctionName"] == job.function_name
    assert body["Status"] == "Success", body
    assert body["Input"] == {"Type": "OSS", "Media": job.input}
    if job.output:
        assert body["Output"] == {"Type": "OSS", "Media": job.output}
    sched = body["ScheduleConfig"]
    assert set(sched) == {"PipelineId", "Priority"}
    assert isinstance(sched["PipelineId"], str) and type(sched["Priority"]) is int
    if job.priority is not None:
        assert sched == {"PipelineId": job.pipeline_id, "Priority": job.priority}
    assert body.get("Name") == job.name and body.get("UserData") == job.user_data
    assert GMT.match(body["CreateTime"]) and GMT.match(body["FinishTime"]), body
    assert body["CreateTime"] <= body["FinishTime"]
    json.loads(body["Result"])  # a JSON document in a string
    assert all(isinstance(f, str) and f.startswith("oss://") for f in body["OutputFiles"])
    assert len(body["OutputUrls"]) == len(body["OutputFiles"]) and body["OutputMediaIds"] == []
    # Nothing of the engine's own disk shows: Result, OutputFiles and OutputUrls name objects only.
    assert data_dir not in json.dumps(body), body


@pytest.mark.parametrize("client_name", CLIENT_NAMES)
async def test_submit_and_query_several_algorithms(
    client_name: str, local_engine: Any, inputs: dict[str, str]
) -> None:
    for job, body in await finished_jobs(
        client_name, local_engine, "ice", _jobs(client_name, inputs), check_query_body
    ):
        if job.function_name == "AudioQualityAssessment":
            (channel,) = json.loads(body["Result"])
            assert channel["Input"] == job.input  # the object, never a path in the engine's work dir
        else:  # both keep the main input's 2 s
            (url,) = body["OutputUrls"]
            audio, rate = sf.read(io.BytesIO(requests.get(url, timeout=10).content))
            assert abs(len(audio) / rate - 2.0) < 0.01, (len(audio), rate)


@pytest.mark.parametrize("client_name", CLIENT_NAMES)
async def test_cancel_queued_and_finished_jobs(client_name: str, held_engine: Any) -> None:
    client = make_client(client_name, held_engine, "ice")
    job = Job("SpeechDenoise", "oss://media/clients/held/take.wav", f"oss://media/held/{client_name}.wav")
    job_id = await client.submit(job)
    assert (await client.query(job_id)).raw["Status"] in ("Queuing", "Analyzing")
    cancelled = (await client.cancel(job_id)).raw
    assert isinstance(cancelled["RequestId"], str) and job_id in cancelled["Message"]
    body = (await client.query(job_id)).raw
    assert body["Status"] == "Fail" and json.loads(body["Result"])["Code"] == "Cancelled", body
    assert GMT.match(body["FinishTime"])
    again = (await client.cancel(job_id)).raw  # cancelling a finished job changes nothing
    assert "already finished" in again["Message"]
    assert (await client.query(job_id)).raw["Status"] == "Fail"


@pytest.mark.parametrize("client_name", CLIENT_NAMES)
async def test_unknown_job_is_a_named_error_in_every_client(client_name: str, local_engine: Any) -> None:
    client = make_client(client_name, local_engine, "ice")
    for call in (client.query, client.cancel):
        with pytest.raises(ClientError) as info:
            await call("0123456789abcdef0123456789abcdef")
        assert (info.value.status, info.value.code) == (404, "NotFound"), info.value
        assert "0123456789abcdef0123456789abcdef" in info.value.message
