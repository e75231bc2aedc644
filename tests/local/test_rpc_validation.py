"""Submit validation over real HTTP through the official SDKs.

The JobParams cases are generated from the catalog (every enum and range of every algorithm, in each API
that has it), so a rule added there is tested here too. Each refusal must be HTTP 400 with a message
naming the field and the bad value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_tea_openapi.exceptions import ClientException

from airflow_iprod import catalog
from tests.local.wavgen import noisy_tone_wav


def _output_for(spec: catalog.AlgorithmSpec) -> str:
    middle = f"-{{{spec.placeholder}}}" if spec.placeholder else ""
    return f"oss://media/out/{{source}}{middle}{spec.output_ext or '.out'}"


def _bad_values(param: catalog.Param) -> list[Any]:
    bad: list[Any] = []
    if param.choices:
        bad.append("zz-not-a-choice")
    step = 1 if param.type == "integer" else 0.1
    if param.min is not None:
        bad.append(round(param.min - step, 3))
    if param.max is not None:
        bad.append(round(param.max + step, 3))
    return bad


JOB_PARAM_CASES = [
    pytest.param(api, spec.name, param.name, value, id=f"{api}-{spec.name}-{param.name}={value}")
    for spec in catalog.all_specs()
    for api in sorted(spec.apis)
    for param in spec.params_for(api)
    for value in _bad_values(param)
]


def _refused(submit_job: Any, api: str, function_name: str, input_url: str | None, output_url: str | None,
             job_params: Any = None, **fields: Any) -> ClientException:  # fmt: skip
    with pytest.raises(ClientException) as info:
        submit_job(api, function_name, input_url, output_url, job_params, **fields)
    assert info.value.status_code == 400, info.value
    return info.value


@pytest.mark.parametrize(("api", "function_name", "param", "value"), JOB_PARAM_CASES)
def test_job_params_ranges_and_enums_from_the_catalog(
    submit_job: Any, api: str, function_name: str, param: str, value: Any
) -> None:
    spec = catalog.spec_for(function_name, api)
    # Required fields get a plain valid value, so the bad one is the only fault in the request.
    params = {p.name: "hello world" for p in spec.params_for(api) if p.required and p.name != param}
    params[param] = value
    err = _refused(submit_job, api, function_name, "oss://media/in/input.mp4", _output_for(spec), params)
    assert err.code == "InvalidParameter"
    assert f"JobParams.{param}" in err.message and repr(value) in err.message


def test_there_are_many_generated_cases() -> None:
    assert len(JOB_PARAM_CASES) >= 15  # the catalog has ranges and enums for several algorithms


ICE_REQUEST_CASES = [
    # (label, function, output, job_params, fields, words the message must contain)
    ("priority-0", "SpeechDenoise", None, None, {"priority": 0}, ["ScheduleConfig.Priority", "0", "1 to 10"]),
    ("priority-11", "SpeechDenoise", None, None, {"priority": 11}, ["ScheduleConfig.Priority", "11"]),
    ("name-101", "SpeechDenoise", None, None, {"name": "n" * 101}, ["Name", "100"]),
    ("userdata-257", "SpeechDenoise", None, None, {"user_data": "u" * 257}, ["UserData", "256"]),
    ("cover-no-seq", "Cover", "oss://media/out/{source}.png", None, {}, ["Output.Media", "{sequenceId}"]),
    ("unknown-placeholder", "SpeechDenoise", "oss://media/out/{foo}.wav", None, {}, ["Output", "{foo}"]),
    ("unknown-function", "NoSuchThing", None, None, {}, ["FunctionName", "NoSuchThing"]),
    ("mts-only-on-ice", "ASR", None, None, {}, ["FunctionName", "ASR", "MTS"]),
    ("job-params-not-json", "SpeechDenoise", None, "{not json", {}, ["JobParams", "JSON"]),
    ("job-params-not-object", "SpeechDenoise", None, "[1, 2]", {}, ["JobParams", "JSON object"]),
    ("job-params-unknown-key", "CaptionExtraction", "oss://media/out/{source}.srt", {"fpss": 5}, {},
     ["JobParams.fpss", "fps"]),
    ("model-id", "Cover", "oss://media/out/{source}-{sequenceId}.png", None, {"model_id": "m-1"},
     ["ModelId", "m-1"]),
    ("biz", "SpeechDenoise", None, None, {"biz": "XYZ"}, ["Output.Biz", "XYZ"]),
    ("input-type", "SpeechDenoise", None, None, {"input_type": "FTP"}, ["Input.Type", "FTP"]),
    ("output-type", "SpeechDenoise", None, None, {"output_type": "Disk"}, ["Output.Type", "Disk"]),
    ("bad-bucket", "SpeechDenoise", "oss://Bad_Bucket/x.wav", None, {}, ["Output.Media", "Bad_Bucket"]),
    ("detext-time-ranges", "VideoDetext", "oss://media/out/{source}.mp4", {"Time": [[1, 2], [3, 4]]}, {},
     ["JobParams.Time", "algo-video-detext-new"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("function_name", "output", "job_params", "fields", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in ICE_REQUEST_CASES],
)
def test_ice_request_rules(submit_job: Any, function_name: str, output: str | None, job_params: Any,
                           fields: dict[str, Any], words: list[str]) -> None:  # fmt: skip
    err = _refused(submit_job, "ice", function_name, "oss://media/in/a.wav", output or "oss://media/out/{source}.wav",
                   job_params, **fields)  # fmt: skip
    assert err.code == "InvalidParameter"
    for word in words:
        assert word in err.message, (word, err.message)


def test_mts_request_rules(submit_job: Any) -> None:
    err = _refused(submit_job, "mts", "SpeechDenoise", "oss://media/in/a.wav", "oss://media/out/a.wav")
    assert "FunctionName" in err.message and "ICE" in err.message
    err = _refused(submit_job, "mts", "Cover", "oss://media/in/a.mp4", "oss://media/out/{source}.png")
    assert "Output" in err.message and "{sequenceId}" in err.message
    err = _refused(submit_job, "mts", "Cover", "ftp://host/a.mp4", "oss://media/out/{sequenceId}.png")
    assert "Input" in err.message and "ftp://host/a.mp4" in err.message
    err = _refused(submit_job, "mts", "CaptionExtraction", "oss://media/in/a.mp4", "oss://media/out/a.srt",
                   {"lang": "fr"})  # fmt: skip
    assert "JobParams.lang" in err.message and "'fr'" in err.message


def test_mts_notify_url_must_be_an_mns_queue(mts_client: Any) -> None:
    from alibabacloud_mts20140618 import models as mts_models

    request = mts_models.SubmitIProductionJobRequest(
        function_name="TextToSpeech",
        output="oss://media/out/t.wav",
        job_params='{"text": "hi"}',
        notify_url="https://example.com/hook",
    )
    with pytest.raises(ClientException) as err:
        mts_client.submit_iproduction_job(request)
    assert err.value.code == "InvalidParameter"
    assert "NotifyUrl='https://example.com/hook'" in err.value.message and "MNS queue" in err.value.message


def test_missing_required_parameters(ice_client: Any) -> None:
    request = ice_models.SubmitIProductionJobRequest(
        function_name="SpeechDenoise",
        output=ice_models.SubmitIProductionJobRequestOutput(type="OSS", media="oss://media/out/x.wav"),
    )
    with pytest.raises(ClientException) as info:
        ice_client.submit_iproduction_job(request)
    assert (info.value.status_code, info.value.code) == (400, "MissingParameter")
    assert '"Input"' in info.value.message
    with pytest.raises(ClientException) as info:
        ice_client.query_iproduction_job(ice_models.QueryIProductionJobRequest())
    assert info.value.code == "MissingParameter" and "JobId" in info.value.message


def test_input_must_exist_and_fit(submit_job: Any, upload: Any) -> None:
    err = _refused(
        submit_job, "ice", "SpeechDenoise", "oss://media/in/not-there.wav", "oss://media/out/x.wav"
    )
    assert "Input.Media" in err.message and "not-there.wav" in err.message
    err = _refused(submit_job, "ice", "SpeechDenoise", "oss://nobucket/in/a.wav", "oss://media/out/x.wav")
    assert "Input.Media" in err.message and "NoSuchBucket" in err.message
    wrong_rate = upload(noisy_tone_wav(0.3, rate=22050), "in/rate-22050.wav")
    err = _refused(submit_job, "ice", "SpeechDenoise", wrong_rate, "oss://media/out/x.wav")
    assert "22050" in err.message and "16000" in err.message and "48000" in err.message
    not_wav = upload(b"ID3\x03\x00\x00\x00" + bytes(600), "in/song.mp3")
    err = _refused(submit_job, "ice", "SpeechDenoise", not_wav, "oss://media/out/x.wav")
    assert "mp3" in err.message and "wav" in err.message
    image = upload(b"\x89PNG\r\n\x1a\n" + bytes(600), "in/picture.png")
    err = _refused(submit_job, "ice", "Cover", image, "oss://media/out/{sequenceId}.png")
    assert "Input.Media" in err.message and "png" in err.message and "video" in err.message


def test_output_bucket_must_exist(submit_job: Any, upload: Any) -> None:
    url = upload(noisy_tone_wav(0.3), "in/ok.wav")
    err = _refused(submit_job, "ice", "SpeechDenoise", url, "oss://no-such-bucket/out/x.wav")
    assert "Output.Media" in err.message and "no-such-bucket" in err.message


def test_media_ids_must_be_known(submit_job: Any, upload: Any) -> None:
    err = _refused(submit_job, "ice", "SpeechDenoise", "0123456789abcdef", "oss://media/out/x.wav",
                   input_type="Media")  # fmt: skip
    assert "Input.Media" in err.message and "0123456789abcdef" in err.message
    url = upload(noisy_tone_wav(0.3), "in/ok2.wav")
    err = _refused(submit_job, "ice", "SpeechDenoise", url, None, output_type="Media")
    assert "Output.OutputUrl" in err.message
    err = _refused(submit_job, "ice", "SpeechDenoise", url, "oss://media/out/x.wav", output_type="Media",
                   output_media="fedcba9876543210")  # fmt: skip
    assert "Output.Media" in err.message and "fedcba9876543210" in err.message


def test_error_message_is_json_body(ice_client: Any) -> None:
    with pytest.raises(ClientException) as info:
        ice_client.submit_iproduction_job(
            ice_models.SubmitIProductionJobRequest(
                function_name="SpeechDenoise",
                input=ice_models.SubmitIProductionJobRequestInput(type="OSS", media="oss://media/a.wav"),
                output=ice_models.SubmitIProductionJobRequestOutput(type="OSS", media="oss://media/b.wav"),
                schedule_config=ice_models.SubmitIProductionJobRequestScheduleConfig(priority=42),
            )
        )
    data = info.value.data
    assert set(data) >= {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert json.dumps(data)  # plain JSON
