"""Operator construction: literal values are validated at DAG parse time, templated ones after rendering."""

from __future__ import annotations

import inspect

import pytest

from airflow_iprod import catalog
from airflow_iprod.operators.algorithms import (
    CaptionExtractionOperator,
    MusicDemixOperator,
    SpeechDenoiseOperator,
    VideoDelogoOperator,
)
from airflow_iprod.operators.iproduction import IProductionJobOperator, resolve_input

V, W, S = "oss://media/a.mp4", "oss://media/a.wav", "oss://media/a.srt"
DEEP = '{"fps": ' + "[" * 2000 + "]" * 2000 + "}"
SILENT = {"text": "\ufffd \x01 ..."}
MIX_DOTDOT = {"inputs": [{"file": "oss://media/../b.wav"}]}
CASES = [
    (CaptionExtractionOperator, dict(input=V, output=S, fps=11), "JobParams.fps"),
    (CaptionExtractionOperator, dict(input=V, output=S, lang="fr"), "JobParams.lang"),
    (MusicDemixOperator, dict(input=W, output=W), "Output.Media"),
    (SpeechDenoiseOperator, dict(input=W, output=W, api="mts"), "FunctionName"),
    (SpeechDenoiseOperator, dict(input="s3://m/a.wav", output=W), "Input.Media"),
    (SpeechDenoiseOperator, dict(input=W, output=W, priority=0), "ScheduleConfig.Priority"),
    (SpeechDenoiseOperator, dict(input=W, output=W, user_data="x" * 300), "UserData"),
    (VideoDelogoOperator, dict(input=V, output=V, logo_model="radio"), "JobParams.LogoModel"),
    (IProductionJobOperator, dict(function_name="Nope", input=V, output=V), "FunctionName"),
    (IProductionJobOperator, dict(function_name="Cover", api="gcp", input=V), "api"),
    # issue 14: these passed at parse time before
    (SpeechDenoiseOperator, dict(input=W, output="oss://media/out/../x.wav"), "Output.Media"),
    (SpeechDenoiseOperator, dict(input=W, output="oss://media/out/a\x00.wav"), "Output.Media"),
    (SpeechDenoiseOperator, dict(input=W, output="oss://media/" + "k" * 1100 + ".wav"), "Output.Media"),
    (SpeechDenoiseOperator, dict(input=W, output="oss://media/{source}.mp4"), "Output.Media"),
    (SpeechDenoiseOperator, dict(input=W, output="oss://media/{source.wav"), "Output.Media"),
    (SpeechDenoiseOperator, dict(input="oss://media/./a.wav", output=W), "Input.Media"),
    (CaptionExtractionOperator, dict(input=V, output=S, fps="5"), "JobParams.fps"),
    (CaptionExtractionOperator, dict(input=V, output=S, fps=True), "JobParams.fps"),
    (CaptionExtractionOperator, dict(input=V, output=S, job_params=DEEP), "JobParams"),
    (IProductionJobOperator, dict(function_name="TextToSpeech", api="mts", output=W, job_params=SILENT),
     "JobParams.text"),
    (IProductionJobOperator, dict(function_name="TextToSpeech", api="mts", output="oss://media/t.mp3",
                                  job_params={"text": "hi"}), "Output"),
    (IProductionJobOperator, dict(function_name="AudioMixing", input=W, output=W, job_params=MIX_DOTDOT),
     "JobParams.inputs[0].file"),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "kwargs", "field"), CASES)
def test_literal_mistakes_fail_at_construction(cls, kwargs, field):
    with pytest.raises(catalog.ValidationError) as err:
        cls(task_id="t", **kwargs)
    assert err.value.field == field and field in str(err.value)


def test_templated_and_xcom_values_wait_for_rendering():
    from datetime import datetime

    from airflow.sdk import DAG

    with DAG("validation_probe", schedule=None, start_date=datetime(2025, 1, 1)):
        _templated_pair()


def _templated_pair() -> None:
    up = SpeechDenoiseOperator(task_id="up", input="oss://media/a.wav", output="oss://media/{source}-c.wav")
    op = CaptionExtractionOperator(
        task_id="t", input=up.output, output="{{ params.out }}", fps="{{ params.fps }}", lang="en"
    )
    assert op.job_params == {"fps": "{{ params.fps }}", "lang": "en"}
    assert "job_params" in op.template_fields and "output_media" in op.template_fields


def test_a_templated_param_does_not_hide_literal_mistakes():
    """A templated fps is left out at parse time; the literal output is still checked then."""
    with pytest.raises(catalog.ValidationError) as err:
        CaptionExtractionOperator(task_id="t", input=V, output="oss://media/../c.srt", fps="{{ params.fps }}")
    assert err.value.field == "Output.Media"


def test_a_rendered_number_is_read_as_json():
    """Airflow renders a template to text: "5" for fps is read back as 5, a string field stays text."""
    op = CaptionExtractionOperator(
        task_id="t", input=V, output=S, fps="{{ params.fps }}", lang="{{ params.l }}"
    )
    op.job_params = {"fps": "5", "lang": "en"}  # what rendering leaves
    request = op._build_request(op._request_fields())
    assert request.params["fps"] == 5 and request.params["lang"] == "en"
    op.job_params = {"fps": "50", "lang": "en"}
    with pytest.raises(catalog.ValidationError, match=r"JobParams.fps=50 "):
        op._build_request(op._request_fields())


def test_typed_keywords_match_the_catalog():
    params = inspect.signature(VideoDelogoOperator).parameters
    assert {"logo_model", "boxes", "logo"} <= set(params) and "function_name" not in params
    assert params["api"].default == "ice"
    with pytest.raises(TypeError):
        VideoDelogoOperator(
            task_id="t", function_name="Cover", input="oss://media/a.mp4", output="oss://media/b.mp4"
        )
    with pytest.raises(catalog.ValidationError):  # same field twice
        CaptionExtractionOperator(
            task_id="t", input="oss://media/a.mp4", output="oss://media/a.srt", fps=5, job_params={"fps": 6}
        )


def test_resolve_input_from_upstream_results():
    one = {
        "JobId": "j",
        "FunctionName": "SpeechDenoise",
        "Outputs": ["oss://media/a.wav"],
        "OutputMediaIds": [],
    }
    assert resolve_input(one) == "oss://media/a.wav"
    two = {"JobId": "j", "FunctionName": "MusicDemix", "Outputs": ["oss://media/v.wav", "oss://media/a.wav"]}
    with pytest.raises(catalog.ValidationError, match=r"Outputs'\]\[i\]"):
        resolve_input(two)
    assert resolve_input(two["Outputs"][1]) == "oss://media/a.wav"
    media = {"JobId": "j", "Outputs": ["oss://media/x.mp4"], "OutputMediaIds": ["mid-1"]}
    assert resolve_input(media, "Media") == "mid-1"
    with pytest.raises(catalog.ValidationError):
        resolve_input(42)


def test_api_mps_is_the_mts_api():
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.sensors.iproduction import IProductionJobSensor

    op = IProductionJobOperator(
        task_id="t",
        function_name="TextToSpeech",
        api="MPS",
        output="oss://media/a.wav",
        job_params={"text": "hi"},
    )
    assert op.api == "mts"
    assert IProductionJobSensor(task_id="s", job_id="j", api="mps").api == "mts"
    assert IProductionHook(api="mps").api == "mts"
