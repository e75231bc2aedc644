"""MPS (2014-06-18) conformance: every maintained Python client submits and queries IProduction jobs on
the local engine over real HTTP and reads every documented Query field in its documented format. MPS
has no CancelIProductionJob: asking for it is refused with the cloud's named error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.local.clients.iprod_clients import (
    CLIENT_NAMES,
    GMT,
    ClientError,
    CoreClient,
    Job,
    audio_inputs,
    finished_jobs,
    make_client,
)

# Documented QueryIProductionJob fields (the SDK's response model): all strings, times none.
MPS_QUERY_FIELDS = ("RequestId", "JobId", "FunctionName", "Input", "Output", "JobParams", "PipelineId")
MPS_QUERY_FIELDS += ("Result", "State", "UserData")


@pytest.fixture(scope="module")
def inputs(upload: Any) -> dict[str, str]:
    got = audio_inputs(upload, "clients/mps", ("voice.wav", "bed.wav"), bpm=100, seconds=3.0, seed=5)
    return {"voice": got["tone"], "music": got["drums"]}


def _jobs(client_name: str, inputs: dict[str, str]) -> list[Job]:
    out = f"oss://media/clients/mps/{client_name}"
    tts = {"text": f"Hello from {client_name}", "voice": "en-us"}
    return [
        Job("TextToSpeech", None, out + "/hello.wav", tts, user_data=json.dumps({"client": client_name})),
        Job(
            "AudioMixing", inputs["voice"], out + "/{source}-mix.wav", {"inputs": [{"file": inputs["music"]}]}
        ),
    ]


def check_query_body(body: dict[str, Any], job: Job, job_id: str, data_dir: str) -> None:
    expected = set(MPS_QUERY_FIELDS) - ({"Input"} if job.input is None else set())
    expected -= {"UserData"} if job.user_data is None else set()
    assert expected <= set(body), sorted(body)
    for name in MPS_QUERY_FIELDS:
        if name in body:
            assert isinstance(body[name], str), (name, body[name])  # MPS answers flat strings
    assert body["JobId"] == job_id and body["FunctionName"] == job.function_name
    assert body["State"] == "Success", body
    assert body.get("Input") == job.input and body["Output"] == job.output
    assert json.loads(body["JobParams"]) == job.params and body.get("UserData") == job.user_data
    assert body["PipelineId"] == "default"
    json.loads(body["Result"])
    # Beyond the SDK's model (only raw JSON readers such as aliyun-python-sdk-core see them).
    for name in ("CreationTime", "FinishTime"):
        if name in body:
            assert GMT.match(body[name]), (name, body[name])
    assert data_dir not in json.dumps(body), body


@pytest.mark.parametrize("client_name", CLIENT_NAMES)
async def test_submit_and_query_several_algorithms(
    client_name: str, local_engine: Any, inputs: dict[str, str]
) -> None:
    for job, body in await finished_jobs(
        client_name, local_engine, "mts", _jobs(client_name, inputs), check_query_body
    ):
        result = json.loads(body["Result"])
        if job.function_name == "TextToSpeech":
            assert result["Voice"] == "en-us" and result["Duration"] > 0.5, result
        for url in body.get("OutputUrls", []):  # downloaded by finished_jobs; TTS writes WAV
            assert requests.get(url, timeout=10).content[:4] == b"RIFF", url


@pytest.mark.parametrize("client_name", CLIENT_NAMES)
async def test_unknown_job_is_a_named_error_in_every_client(client_name: str, local_engine: Any) -> None:
    client = make_client(client_name, local_engine, "mts")
    with pytest.raises(ClientError) as info:
        await client.query("fedcba9876543210fedcba9876543210")
    assert (info.value.status, info.value.code) == (404, "NotFound"), info.value


def test_cancel_is_not_an_mps_action(local_engine: Any) -> None:
    """The MPS SDKs have no Cancel; a hand-made one gets the cloud's answer for an unknown action."""
    client = CoreClient(local_engine, "mts")
    with pytest.raises(ClientError) as info:
        client._send(client.common_request("CancelIProductionJob", JobId="fedcba9876543210fedcba9876543210"))
    assert (info.value.status, info.value.code) == (404, "InvalidAction.NotFound"), info.value
    assert "2014-06-18" in info.value.message
