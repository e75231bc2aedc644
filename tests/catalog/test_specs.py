"""Every catalog entry accepts its documented JobParams and refuses bad ones with a message that
names the field, the value and what is allowed."""

from __future__ import annotations

import json

import pytest

from airflow_iprod import catalog
from airflow_iprod.catalog import ICE, MTS, ValidationError

# (FunctionName, api, good JobParams, expected normalised subset)
GOOD = [
    ("Cover", ICE, {"Model": "gif"}, {"Model": "gif"}),
    ("Cover", MTS, {}, {"Model": ""}),
    ("VideoClip", ICE, {}, {}),
    (
        "VideoDelogo",
        ICE,
        {"LogoModel": "tv,internet", "Boxes": "[[0, 0, 0.3, 0.3], [0.7, 0, 0.3, 0.3]]"},
        {"Boxes": [[0, 0, 0.3, 0.3], [0.7, 0, 0.3, 0.3]]},
    ),
    ("VideoDelogo", MTS, {"Logo": [[0.7, 0, 0.3, 0.3]]}, {"Boxes": [[0.7, 0, 0.3, 0.3]]}),
    ("VideoDetext", ICE, {"LimitRegion": [[0, 0.7, 1, 0.3]], "Time": [5, 20]}, {"Time": [[5, 20]]}),
    ("VideoDetext", MTS, {}, {"LimitRegion": [[0, 0.7, 1, 0.3]]}),  # documented default: bottom 30%
    (
        "CaptionExtraction",
        ICE,
        {"fps": 2, "lang": "ch_ml", "track": "main"},
        {"fps": 2, "roi": [[0.75, 1], [0, 1]], "lang": "ch_ml"},
    ),
    ("CaptionExtraction", MTS, {"roi": [[0.5, 1], [0, 1]]}, {"fps": 5, "lang": "ch"}),
    (
        "HybridCaptionExtraction",
        ICE,
        {"roi": [0.1, 0.0, 0.3, 0.2], "lang": "en"},
        {"roi": [0.1, 0.0, 0.3, 0.2], "fps": 5},
    ),
    ("VideoGreenScreenMatting", ICE, {"bgimage": "oss://bkt/bg.jpg"}, {"bgimage": "oss://bkt/bg.jpg"}),
    ("VideoGreenScreenMatting", MTS, {}, {}),
    (
        "FaceBeauty",
        ICE,
        {"beauty_params": "whiten=20,smooth=50,face_thin=50"},
        {"beauty_params": {"whiten": 20, "smooth": 50, "face_thin": 50}},
    ),
    ("VideoH2V", MTS, {}, {}),
    ("MusicSegmentDetect", ICE, {}, {}),
    ("AudioBeatDetection", MTS, {}, {}),
    ("AudioQualityAssessment", ICE, {}, {}),
    ("SpeechDenoise", ICE, {}, {}),
    (
        "AudioMixing",
        ICE,
        {"inputs": [{"file": "oss://bkt/2.mp4"}]},
        {"inputs": [{"file": "oss://bkt/2.mp4"}]},
    ),
    ("AudioMixing", MTS, {"inputs": {"file": "https://bkt.oss-cn-shanghai.aliyuncs.com/2.mp4"}}, {}),
    ("MusicDemix", ICE, {}, {}),
    ("ImageMatting", MTS, {}, {}),
    ("ImageH2V", MTS, {}, {}),
    ("ImageDelogo", MTS, {}, {}),
    ("ImageCartoonize", MTS, {}, {}),
    ("VideoSplit", MTS, {}, {}),
    ("ASR", MTS, {"lang": "en", "format": "json"}, {"lang": "en", "format": "json"}),
    ("TextToSpeech", MTS, {"text": "hello"}, {"voice": "en-us", "speech_rate": 1.0, "volume": 50}),
    ("AsyncTextToSpeech", MTS, {"text": "hi", "speech_rate": 2}, {"speech_rate": 2.0, "format": "wav"}),
]

# (FunctionName, api, bad JobParams, field named in the error, words of the allowed part)
BAD = [
    ("Cover", ICE, {"Model": "mp4"}, "JobParams.Model", "gif"),
    ("VideoDelogo", ICE, {"LogoModel": "radio"}, "JobParams.LogoModel", "tv, internet"),
    ("VideoDelogo", ICE, {"Boxes": [[0, 0, 0.1, 0.1]] * 3}, "JobParams.Boxes", "at most 2 boxes"),
    ("VideoDelogo", ICE, {"Boxes": [[0.8, 0, 0.3, 0.3]]}, "JobParams.Boxes[0]", "inside [0, 1]"),
    ("VideoDelogo", ICE, {"Logo": [[0, 0, 0.3, 0.3]]}, "JobParams.Logo", "LogoModel"),
    ("VideoDelogo", ICE, {"Boxes": "nonsense"}, "JobParams.Boxes", "a JSON list"),
    ("VideoDetext", ICE, {"Time": [20, 5]}, "JobParams.Time[0]", "start < end"),
    ("VideoDetext", ICE, {"Time": [[1, 2], [3, 4]]}, "JobParams.Time", catalog.DETEXT_NEW_MODEL),
    ("VideoDetext", ICE, {"LimitRegion": [[0, 0, 2, 0.3]]}, "JobParams.LimitRegion[0]", "[0, 1]"),
    ("VideoDetext", ICE, {"LimitRegion": [[0, 0.7, 1, 0.5]]}, "JobParams.LimitRegion[0]", "inside [0, 1]"),
    ("CaptionExtraction", ICE, {"fps": 1}, "JobParams.fps", "[2, 10]"),
    ("CaptionExtraction", ICE, {"fps": 11}, "JobParams.fps", "[2, 10]"),
    ("CaptionExtraction", ICE, {"fps": 2.5}, "JobParams.fps", "integer"),
    ("CaptionExtraction", ICE, {"lang": "zh"}, "JobParams.lang", "ch_ml"),
    (
        "CaptionExtraction",
        ICE,
        {"roi": [0, 0.75, 1, 0.25]},
        "JobParams.roi",
        "[[top, bottom], [left, right]]",
    ),
    ("CaptionExtraction", ICE, {"roi": [[0.9, 0.5], [0, 1]]}, "JobParams.roi", "top < bottom"),
    ("CaptionExtraction", ICE, {"track": "all"}, "JobParams.track", "main"),
    ("CaptionExtraction", ICE, {"Fps": 5}, "JobParams.Fps", "did you mean 'fps'"),
    ("HybridCaptionExtraction", ICE, {"lang": "ch"}, "JobParams.lang", "zh"),
    ("HybridCaptionExtraction", ICE, {"roi": [[0.75, 1], [0, 1]]}, "JobParams.roi", "xmin"),
    ("HybridCaptionExtraction", ICE, {"roi": [0.5, 0.5, 0.6, 0.2]}, "JobParams.roi", "inside [0, 1]"),
    ("VideoGreenScreenMatting", ICE, {"bgimage": "bg.jpg"}, "JobParams.bgimage", "URL"),
    ("FaceBeauty", ICE, {"beauty_params": "whiten=120"}, "JobParams.beauty_params.whiten", "[0, 100]"),
    ("FaceBeauty", ICE, {"beauty_params": "bigeye=3"}, "JobParams.beauty_params", "face_thin"),
    ("SpeechDenoise", ICE, {"strength": 1}, "JobParams.strength", "none"),
    ("AudioMixing", ICE, {}, "JobParams.inputs", "required"),
    (
        "AudioMixing",
        ICE,
        {"inputs": [{"file": "oss://bkt/a"}, {"file": "oss://bkt/b"}]},
        "JobParams.inputs",
        "exactly one",
    ),
    ("AudioMixing", ICE, {"inputs": [{"file": "/tmp/x.wav"}]}, "JobParams.inputs[0].file", "oss://"),
    ("AudioMixing", ICE, {"inputs": [{"url": "oss://bkt/a"}]}, "JobParams.inputs[0]", '{"file"'),
    ("ASR", MTS, {"lang": "fr"}, "JobParams.lang", "zh"),
    ("ASR", MTS, {"format": "txt"}, "JobParams.format", "json"),
    ("TextToSpeech", MTS, {}, "JobParams.text", "required"),
    ("TextToSpeech", MTS, {"text": ""}, "JobParams.text", "1 to 10000"),
    ("TextToSpeech", MTS, {"text": "a" * 10001}, "JobParams.text", "1 to 10000"),
    ("TextToSpeech", MTS, {"text": "x", "speech_rate": 3}, "JobParams.speech_rate", "[0.5, 2]"),
    ("TextToSpeech", MTS, {"text": "x", "volume": True}, "JobParams.volume", "integer"),
]


@pytest.mark.parametrize(("name", "api", "params", "expected"), GOOD, ids=lambda v: str(v)[:30])
def test_good_job_params_are_normalised(name, api, params, expected):
    spec = catalog.spec_for(name, api)
    # Both a dict and its JSON text (the wire form) validate to the same thing.
    for given in (params, json.dumps(params)):
        out = catalog.validate_job_params(spec, given, api=api)
        for key, value in expected.items():
            assert out[key] == value


@pytest.mark.parametrize(("name", "api", "params", "field", "allowed"), BAD, ids=lambda v: str(v)[:30])
def test_bad_job_params_name_field_value_and_allowed(name, api, params, field, allowed):
    spec = catalog.spec_for(name, api)
    with pytest.raises(ValidationError) as err:
        catalog.validate_job_params(spec, params, api=api)
    assert err.value.field == field
    assert field in str(err.value) and allowed in str(err.value)


def test_every_algorithm_has_a_good_example():
    covered = {(name, api) for name, api, *_ in GOOD}
    for spec in catalog.all_specs():
        assert any((spec.name, api) in covered for api in spec.apis), spec.name


def test_function_names_per_api_follow_the_docs():
    assert "SpeechDenoise" in catalog.names(ICE) and "SpeechDenoise" not in catalog.names(MTS)
    assert {"ASR", "TextToSpeech", "ImageMatting", "VideoSplit"} <= set(catalog.names(MTS))
    assert len(catalog.names(ICE)) == 15 and len(catalog.names(MTS)) == 18
    with pytest.raises(ValidationError, match=r"FunctionName='ASR'.*only in the MTS API"):
        catalog.spec_for("ASR", ICE)
    with pytest.raises(ValidationError, match="FunctionName='Nope'"):
        catalog.spec_for("Nope", MTS)


@pytest.mark.parametrize(
    ("given", "canonical"), [("ice", ICE), ("ICE", ICE), ("mts", MTS), ("mps", MTS), (" MPS", MTS)]
)
def test_api_accepts_the_product_name_mps(given: str, canonical: str) -> None:
    assert catalog.canonical_api(given) == canonical
    assert catalog.spec_for("TextToSpeech" if canonical == MTS else "SpeechDenoise", given).name


@pytest.mark.parametrize("bad", ["gcp", "", None, ["mts"]])
def test_api_refusal_names_the_field_and_the_choices(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"api=.*one of \['ice', 'mts'\] \('mps' is accepted"):
        catalog.canonical_api(bad)


SUBMIT = dict(function_name="SpeechDenoise", input="oss://bkt/in.wav", output="oss://bkt/out.wav")


@pytest.mark.parametrize(
    ("override", "field", "allowed"),
    [
        ({"input": None}, "Input.Media", "required"),
        ({"input": "s3://bkt/in.wav"}, "Input.Media", "oss://bucket/key"),
        ({"input": "oss://Bad_Bucket/in.wav"}, "Input.Media", "bucket name"),
        ({"input_type": "URL"}, "Input.Type", "OSS or Media"),
        ({"output": None}, "Output.Media", "SpeechDenoise writes .wav"),
        ({"output": "oss://bkt/folder/"}, "Output.Media", "naming an object"),
        ({"output": "oss://bkt/{name}.wav"}, "Output.Media", "{sequenceId}"),
        ({"output_type": "Media", "output_url": "oss://bkt/{bogus}.wav"}, "Output.OutputUrl", "placeholders"),
        ({"output_biz": "YOUKU"}, "Output.Biz", "IMS or VOD"),
        ({"name": "n" * 101}, "Name", "at most 100"),
        ({"user_data": "u" * 257}, "UserData", "at most 256"),
        ({"priority": 0}, "ScheduleConfig.Priority", "1 to 10"),
        ({"priority": "high"}, "ScheduleConfig.Priority", "integer"),
        ({"model_id": "my-model"}, "ModelId", "empty"),
        ({"function_name": "Cover", "output": "oss://bkt/c.png"}, "Output.Media", "{sequenceId}"),
        ({"function_name": "MusicDemix"}, "Output.Media", "vocals, accompaniment"),
    ],
)
def test_submit_rules(override, field, allowed):
    with pytest.raises(ValidationError) as err:
        catalog.SubmitRequest(api=ICE, **{**SUBMIT, **override})
    assert err.value.field == field and allowed in str(err.value)


def test_submit_accepts_documented_forms():
    catalog.SubmitRequest(api=ICE, **SUBMIT, name="n" * 100, user_data="u" * 256, priority=10)
    catalog.SubmitRequest(api=ICE, **{**SUBMIT, "input_type": "Media", "input": "a1b2c3"})
    catalog.SubmitRequest(
        api=ICE,
        **{
            **SUBMIT,
            "output_type": "Media",
            "output": "",
            "output_url": "oss://bkt/o/{source}.wav",
            "output_biz": "VOD",
        },
    )
    catalog.SubmitRequest(api=ICE, function_name="AudioQualityAssessment", input="oss://bkt/a.wav")
    catalog.SubmitRequest(
        api=ICE,
        function_name="Cover",
        input="oss://bkt.oss-cn-shanghai.aliyuncs.com/v.mp4",
        output="https://bkt.oss-cn-shanghai.aliyuncs.com/c/{source}-{timestamp}-{sequenceId}.png",
    )
    catalog.SubmitRequest(
        api=MTS,
        function_name="TextToSpeech",
        output="oss://bkt/t.wav",
        job_params='{"text": "no input needed"}',
    )
    with pytest.raises(ValidationError, match=r"Input.Type='Media' is not valid: ICE only"):
        catalog.SubmitRequest(api=MTS, **{**SUBMIT, "function_name": "Cover", "input_type": "Media"})


TTS = dict(function_name="TextToSpeech", output="oss://bkt/t.wav", job_params='{"text": "hi"}')
MNS = "mns://1234567890.mns.cn-shanghai.aliyuncs.com/queues/pipeline-events"


@pytest.mark.parametrize(
    ("api", "fields", "field", "allowed"),
    [
        (ICE, {**SUBMIT, "notify_url": MNS}, "NotifyUrl", "MPS only"),
        (ICE, {**SUBMIT, "schedule_params": "{}"}, "ScheduleParams", "MPS only"),
        (MTS, {**TTS, "notify_url": "https://example.com/hook"}, "NotifyUrl", "an MNS queue"),
        (MTS, {**TTS, "notify_url": "mns://host/topics/t"}, "NotifyUrl", "an MNS queue"),
        (MTS, {**TTS, "schedule_params": "Priority=3"}, "ScheduleParams", "a JSON object"),
        (MTS, {**TTS, "schedule_params": "[3]"}, "ScheduleParams", "a JSON object"),
        (MTS, {**TTS, "schedule_params": {"Priority": 0}}, "ScheduleParams.Priority", "1 to 10"),
    ],
)
def test_mps_notify_url_and_schedule_params(api, fields, field, allowed):
    with pytest.raises(ValidationError) as err:
        catalog.SubmitRequest(api=api, **fields)
    assert err.value.field == field and allowed in str(err.value)


def test_mps_notify_url_and_schedule_params_accepted():
    catalog.SubmitRequest(api=MTS, **TTS, notify_url=MNS, schedule_params='{"Priority": 3}')
    catalog.SubmitRequest(api=MTS, **TTS, notify_url="", schedule_params={"Other": "kept"})


def test_split_oss_url_forms():
    assert catalog.split_oss_url("oss://bkt/a/b.mp4") == ("bkt", "a/b.mp4")
    assert catalog.split_oss_url("oss://bkt.oss-cn-shanghai.aliyuncs.com/a.mp4") == ("bkt", "a.mp4")
    assert catalog.split_oss_url("https://bkt.oss-cn-beijing-internal.aliyuncs.com/a%20b.mp4") == (
        "bkt",
        "a b.mp4",
    )
    for bad in ("http://example.com/a.mp4", "oss://bkt", "oss://bkt/", "bkt/a.mp4"):
        with pytest.raises(ValidationError):
            catalog.split_oss_url(bad)


def test_placeholders_expand_as_documented():
    out = catalog.expand_placeholders(
        "oss://bkt/{source}-{timestamp}-{sequenceId}-{resultType}.wav",
        source="talk",
        timestamp=1700000000,
        sequence_id=3,
        result_type="vocals",
    )
    assert out == "oss://bkt/talk-1700000000-00003-vocals.wav"


def test_status_of_both_apis_normalised():
    assert [catalog.normalize_status(ICE, s) for s in catalog.STATUSES] == list(catalog.STATUSES)
    assert catalog.normalize_status(MTS, "success") == "Success"
    assert catalog.normalize_status(MTS, "Processing") == "Analyzing"
    assert catalog.normalize_status(ICE, "Mystery") == "Mystery"  # unknown: not treated as finished


def test_results_parsed_to_typed_data():
    cover = catalog.parse_result(
        "Cover", '[{"Score": 8.27, "Time": "28278.25", "Url": "cover/test-00001.jpg"}]'
    )
    assert cover == [{"Score": 8.27, "Time": 28278.25, "Url": "cover/test-00001.jpg"}]
    clip = catalog.parse_result("VideoClip", '{"VideoSummaryList":[{"EndTime":"5.28","StartTime":"0.28"}]}')
    assert clip["VideoSummaryList"] == [{"StartTime": 0.28, "EndTime": 5.28}]
    chorus = catalog.parse_result("MusicSegmentDetect", '[{"start":39.32,"end":63.85,"title":"x"}]')
    assert chorus[0]["end"] == 63.85
    aqa = catalog.parse_result("AudioQualityAssessment", '[{"Channel":"1","MOS":"Poor","MOS(0-5)":"1.01"}]')
    assert aqa == [{"Channel": "1", "MOS": "Poor", "MOS(0-5)": 1.01}]
    assert catalog.parse_result("SpeechDenoise", "{}") == {}
    assert catalog.parse_result("SpeechDenoise", "not json") == "not json"
    assert catalog.parse_result("Cover", '{"Code": "Success"}') == {
        "Code": "Success"
    }  # MPS callback shape kept
