"""SubmitRequest: each submit field is defined once and reaches the operator's keywords, the CLI's
flags, both wire forms and the engine's decoding; API-only fields are refused on the other API."""

from __future__ import annotations

import argparse
import inspect
import json

import pytest

from airflow_iprod import catalog
from airflow_iprod.catalog import ICE, MTS, MissingField, SubmitRequest, ValidationError

# One valid value per field, for the API(s) that have it.
SAMPLES = {
    "input": "oss://bkt/in/talk.wav",
    "output": "oss://bkt/out/{source}.wav",
    "input_type": "OSS",
    "output_type": "OSS",
    "output_biz": "VOD",
    "output_url": None,  # only with output_type Media: see test_media_output
    "job_params": '{"inputs": [{"file": "oss://bkt/in/music.wav"}]}',
    "name": "nightly",
    "template_id": "tpl-1",
    "model_id": None,  # no model for these algorithms: see the specs tests
    "user_data": '{"run": 7}',
    "pipeline_id": "pipe-1",
    "priority": 3,
    "notify_url": "mns://1234.mns.cn-shanghai.aliyuncs.com/queues/done",
    "schedule_params": '{"Priority":2}',
}
FUNCTION = {ICE: "AudioMixing", MTS: "AudioMixing"}


def _sample_request(api: str) -> SubmitRequest:
    fields = {
        f.name: SAMPLES[f.name]
        for f in catalog.request_fields()
        if f.wire(api) and SAMPLES[f.name] is not None
    }
    return SubmitRequest(api=api, function_name=FUNCTION[api], **fields)


def test_every_field_has_a_sample_and_a_wire_path():
    names = [f.name for f in catalog.request_fields()]
    assert sorted(names) == sorted(SAMPLES)
    assert all(f.ice or f.mts for f in catalog.request_fields())


def test_every_field_is_an_operator_keyword_and_a_template_field():
    from airflow_iprod.operators.algorithms import SpeechDenoiseOperator
    from airflow_iprod.operators.iproduction import IProductionJobOperator

    for cls in (IProductionJobOperator, SpeechDenoiseOperator):
        keywords = inspect.signature(cls.__init__).parameters
        for field in catalog.request_fields():
            assert field.name in keywords, (cls.__name__, field.name)
            assert field.operator_attr in cls.template_fields
    request = _sample_request(ICE)
    given = {f.name: getattr(request, f.name) for f in catalog.request_fields()}
    task = IProductionJobOperator(task_id="t", function_name=FUNCTION[ICE], **given)
    assert task.output_media == SAMPLES["output"] and task.pipeline_id == SAMPLES["pipeline_id"]


def test_every_field_is_a_cli_flag():
    from airflow_iprod.cli.job_flags import add_submit_arguments, submit_fields

    parser = argparse.ArgumentParser()
    add_submit_arguments(parser)
    argv = [FUNCTION[ICE]]
    for field in catalog.request_fields():
        argv += [field.cli_flag, str(SAMPLES[field.name] or "x")]
    got = submit_fields(parser.parse_args(argv))
    assert set(got) == {f.name for f in catalog.request_fields()}
    assert got["output_biz"] == "VOD" and got["job_params"] == SAMPLES["job_params"]


@pytest.mark.parametrize("api", [ICE, MTS])
def test_wire_form_round_trips_through_the_engines_decoder(api: str) -> None:
    request = _sample_request(api)
    wire = request.to_wire()
    for field in catalog.request_fields():
        path = field.wire(api)
        if path and getattr(request, field.name) not in (None, ""):
            value = wire
            for part in path.split("."):
                value = value[part]
            assert value == getattr(request, field.name), path
    # The SDKs send ICE's nested objects as JSON text; the engine decodes them back to the same request.
    sent = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in wire.items()}
    assert SubmitRequest.from_wire(api, sent) == request
    if api == ICE:  # flattened "Input.Media" pairs are the other form RPC clients use
        flat = {f"{k}.{kk}": vv for k, v in wire.items() if isinstance(v, dict) for kk, vv in v.items()}
        flat |= {k: v for k, v in wire.items() if not isinstance(v, dict)}
        assert SubmitRequest.from_wire(api, flat) == request


@pytest.mark.parametrize("api", [ICE, MTS])
def test_a_field_of_one_api_is_refused_on_the_other(api: str) -> None:
    other = MTS if api == ICE else ICE
    for field in catalog.request_fields():
        if field.wire(api) is None and field.default is None:
            with pytest.raises(ValidationError, match=f"{'ICE' if other == ICE else 'MPS'} only") as err:
                SubmitRequest(
                    api=api,
                    function_name=FUNCTION[api],
                    input=SAMPLES["input"],
                    output=SAMPLES["output"],
                    **{field.name: SAMPLES[field.name] or "x"},
                )
            assert err.value.field == field.ice or err.value.field == field.mts


def test_values_are_normalised_once():
    request = SubmitRequest(
        api="MPS",
        function_name="TextToSpeech",
        output="oss://bkt/t.wav",
        job_params={"text": "hi"},
        schedule_params={"Priority": "2"},
    )
    assert request.api == MTS and request.input_type == "OSS"
    assert request.job_params == '{"text":"hi"}'  # wire text
    assert request.params["voice"] == "en-us"  # JobParams as the algorithm sees them
    assert request.run_priority == 2
    assert SubmitRequest(api=ICE, function_name="SpeechDenoise", input="oss://b1b/a.wav",
                         output="oss://b1b/o.wav", priority="4").priority == 4  # fmt: skip


def test_media_output_needs_an_output_url():
    base = dict(api=ICE, function_name="SpeechDenoise", input="oss://bkt/a.wav", output_type="Media")
    with pytest.raises(ValidationError, match=r"Output.OutputUrl=None .*with Output.Type=Media"):
        SubmitRequest(**base)
    request = SubmitRequest(**base, output_url="oss://bkt/o/{source}.wav")
    assert (
        request.output_template == "oss://bkt/o/{source}.wav" and request.output_field == "Output.OutputUrl"
    )
    assert SubmitRequest(api=ICE, function_name="AudioQualityAssessment", input="oss://bkt/a.wav",
                         output_type="Media").output_template == ""  # fmt: skip


def test_missing_and_malformed_wire_fields():
    with pytest.raises(MissingField, match="FunctionName"):
        SubmitRequest.from_wire(ICE, {"Input": '{"Type":"OSS","Media":"oss://bkt/a.wav"}'})
    with pytest.raises(MissingField, match="Input"):
        SubmitRequest.from_wire(ICE, {"FunctionName": "SpeechDenoise"})
    with pytest.raises(ValidationError, match=r"Output='\{nope' is not valid: a JSON object"):
        SubmitRequest.from_wire(ICE, {"FunctionName": "VideoClip", "Input": "{}", "Output": "{nope"})


def test_deeply_nested_json_is_refused_by_name():
    deep = "[" * 2000 + "]" * 2000
    for text in (f'{{"a": {deep}}}', '{"a": ' + '{"b": ' * 100 + "1" + "}" * 101):
        with pytest.raises(ValidationError, match=r"JobParams=.*nested at most 64 deep"):
            SubmitRequest(api=ICE, function_name="VideoClip", input="oss://bkt/a.mp4",
                          output="oss://bkt/b.mp4", job_params=text)  # fmt: skip
