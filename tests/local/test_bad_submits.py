"""Bad SubmitIProductionJob requests against a real local engine, over HTTP, through the official SDKs.

Each request is a valid one (accepted, checked below) with exactly one fault. Every one must be refused
at Submit with a 4xx whose message names the faulty field, never a 5xx, and must leave no job behind
(the engine's job count is unchanged). The requests go through the SDK's own signing and transport
(``call_api`` with the parameters as a query, as the generated clients do), so faults the typed request
models could not express (a stray ``Priority``, flattened objects) travel the same way.

* ``test_reported_bad_submits_are_refused``: the concrete kinds of request issue 14 found accepted.
* ``test_generated_bad_submits_are_refused``: Hypothesis generates more; ``IPROD_HYPOTHESIS_EXAMPLES``
  (default 60) sets how many, e.g. ``IPROD_HYPOTHESIS_EXAMPLES=2000`` for a run by hand.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_iprod.local.config import FaultConfig
from tests.conftest import EngineHandle, _start, upload_to
from tests.local.wavgen import noisy_tone_wav

EXAMPLES = int(os.environ.get("IPROD_HYPOTHESIS_EXAMPLES", "60"))
VERSIONS = {"ice": "2020-11-09", "mts": "2014-06-18"}
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(600)  # sniffed as mp4
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + bytes(600)
WAV = "oss://media/in/talk.wav"
SONG = "oss://media/in/song.wav"
VIDEO = "oss://media/in/clip.mp4"
IMAGE = "oss://media/in/picture.png"
NONE_PNG = "oss://media/in/none.png"


@dataclass
class Engine:
    handle: EngineHandle
    clients: dict[str, Any]

    def jobs(self) -> int:
        return self.handle.engine.jobs.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    # Accepted jobs (the valid bases) end at once without running: this test is about Submit only.
    handle = _start(
        tmp_path_factory.mktemp("bad-submits"),
        workers=1,
        throttle_rate=1e6,
        faults=FaultConfig(fail_jobs=frozenset("*")),
    )
    for data, key in ((noisy_tone_wav(0.3), WAV), (noisy_tone_wav(0.3, seed=1), SONG), (MP4_HEAD, VIDEO),
                      (PNG_HEAD, IMAGE)):  # fmt: skip
        upload_to(handle, data, key.removeprefix("oss://media/"))
    yield Engine(handle, {"ice": handle.ice(), "mts": handle.mts()})
    handle.engine.stop()


@dataclass
class Answer:
    status: int
    code: str
    message: str


def send(engine: Engine, api: str, query: dict[str, str]) -> Answer:
    """SubmitIProductionJob with exactly these parameters, signed and sent by the official SDK."""
    from alibabacloud_tea_openapi import utils_models
    from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(
        action="SubmitIProductionJob", version=VERSIONS[api], protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )  # fmt: skip
    request = utils_models.OpenApiRequest(query=Utils.query(query))
    try:
        body = engine.clients[api].call_api(params, request, RuntimeOptions())
    except (ClientException, ServerException) as err:
        return Answer(err.status_code or 0, err.code or "", err.message or "")
    return Answer(int(body.get("statusCode", 200)), "", json.dumps(body.get("body")))


# -- valid requests, each to receive one fault ---------------------------------------------------------


def _ice(function: str, input_url: str | None, output: str | None, **extra: Any) -> dict[str, str]:
    query = {"FunctionName": function}
    if input_url is not None:
        query["Input"] = json.dumps({"Type": "OSS", "Media": input_url})
    if output is not None:
        query["Output"] = json.dumps({"Type": "OSS", "Media": output})
    return query | {k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}


def _mts(function: str, input_url: str | None, output: str | None, **extra: Any) -> dict[str, str]:
    query = {"FunctionName": function, **({"Input": input_url} if input_url else {})}
    if output is not None:
        query["Output"] = output
    return query | {k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}


MIX = {"inputs": [{"file": SONG}]}
BASES: dict[str, tuple[str, dict[str, str]]] = {
    "denoise": ("ice", _ice("SpeechDenoise", WAV, "oss://media/out/{source}.wav")),
    "beats": ("mts", _mts("AudioBeatDetection", WAV, "oss://media/out/{source}.json")),
    "captions-ice": ("ice", _ice("CaptionExtraction", VIDEO, "oss://media/out/{source}.srt")),
    "captions-mts": ("mts", _mts("CaptionExtraction", VIDEO, "oss://media/out/{source}.srt")),
    "tts": ("mts", _mts("TextToSpeech", None, "oss://media/out/tts.wav", JobParams={"text": "hello"})),
    "mix-ice": ("ice", _ice("AudioMixing", WAV, "oss://media/out/{source}-mix.wav", JobParams=MIX)),
    "mix-mts": ("mts", _mts("AudioMixing", WAV, "oss://media/out/{source}-mix.wav", JobParams=MIX)),
    "green-ice": ("ice", _ice("VideoGreenScreenMatting", VIDEO, "oss://media/out/{source}.mp4",
                              JobParams={"bgimage": IMAGE})),
    "green-mts": ("mts", _mts("VideoGreenScreenMatting", VIDEO, "oss://media/out/{source}.mp4",
                              JobParams={"bgimage": IMAGE})),
}  # fmt: skip


def test_the_bases_are_valid(engine: Engine) -> None:
    """Every fault below is made on one of these: each is accepted as it stands."""
    before = engine.jobs()
    for name, (api, query) in BASES.items():
        answer = send(engine, api, query)
        assert answer.status == 200, (name, answer)
    assert engine.jobs() == before + len(BASES)


def _with(base: str, **changes: Any) -> tuple[str, dict[str, str]]:
    """``base`` with parameters replaced (None removes one); ``Output``/``Input`` keep their API's form."""
    api, query = BASES[base]
    query = dict(query)
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        elif api == "ice" and name in ("Input", "Output") and isinstance(value, str):
            query[name] = json.dumps({**json.loads(query[name]), "Media": value})
        else:
            query[name] = value if isinstance(value, str) else json.dumps(value)
    return api, query


def assert_refused(engine: Engine, api: str, query: dict[str, str], field: str) -> Answer:
    before = engine.jobs()
    answer = send(engine, api, query)
    assert 400 <= answer.status < 500, (answer, query)
    assert field in answer.message, (field, answer)
    assert engine.jobs() == before, "a refused request left a job behind"
    return answer


def _deep(depth: int) -> str:
    return '{"fps": ' + "[" * depth + "1" + "]" * depth + "}"


# Each kind of bad request issue 14 saw accepted, or answered 5xx / HTML: (id, base, changes, field named).
REPORTED = [
    ("denoise-to-mp4", "denoise", {"Output": "oss://media/out/{source}.mp4"}, "Output.Media"),
    ("beats-to-wav", "beats", {"Output": "oss://media/out/{source}.wav"}, "Output"),
    ("unbalanced-placeholder-ice", "denoise", {"Output": "oss://media/out/{source.wav"}, "Output.Media"),
    ("unbalanced-placeholder-mts", "beats", {"Output": "oss://media/out/{source-x.json"}, "Output"),
    ("closing-brace-only", "denoise", {"Output": "oss://media/out/source}.wav"}, "Output.Media"),
    ("tts-control-chars", "tts", {"JobParams": {"text": "\x01\x02\x03"}}, "JobParams.text"),
    ("tts-replacement-chars", "tts", {"JobParams": {"text": "\ufffd\ufffd"}}, "JobParams.text"),
    ("tts-punctuation", "tts", {"JobParams": {"text": " ... !? "}}, "JobParams.text"),
    ("mps-priority-0", "beats", {"Priority": "0"}, "Priority"),
    ("mps-priority-11", "beats", {"Priority": "11"}, "Priority"),
    ("mps-priority-x", "beats", {"Priority": "x"}, "Priority"),
    ("mps-schedule-priority-0", "beats", {"ScheduleParams": {"Priority": 0}}, "ScheduleParams.Priority"),
    ("mps-schedule-priority-11", "beats", {"ScheduleParams": {"Priority": 11}}, "ScheduleParams.Priority"),
    ("mps-schedule-priority-x", "beats", {"ScheduleParams": {"Priority": "x"}}, "ScheduleParams.Priority"),
    ("mps-flat-schedule-priority", "beats", {"ScheduleParams.Priority": "0"}, "ScheduleParams.Priority"),
    ("ice-priority-0", "denoise", {"ScheduleConfig": {"Priority": 0}}, "ScheduleConfig.Priority"),
    ("ice-priority-x", "denoise", {"ScheduleConfig": {"Priority": "x"}}, "ScheduleConfig.Priority"),
    ("ice-pipeline-unknown", "denoise", {"ScheduleConfig": {"PipelineId": "no-such-pipe"}},
     "ScheduleConfig.PipelineId"),
    ("mps-pipeline-unknown", "beats", {"PipelineId": "39f8e0bc005e4f309379701645f4aaaa"}, "PipelineId"),
    ("output-dotdot-ice", "denoise", {"Output": "oss://media/out/../../etc/x.wav"}, "Output.Media"),
    ("output-dotdot-mts", "beats", {"Output": "oss://media/../x.json"}, "Output"),
    ("output-nul-ice", "denoise", {"Output": "oss://media/out/a\x00b.wav"}, "Output.Media"),
    ("output-nul-mts", "beats", {"Output": "oss://media/out/a\x00b.json"}, "Output"),
    ("output-20000-ice", "denoise", {"Output": "oss://media/" + "k" * 20000 + ".wav"}, "Output"),
    ("output-20000-mts", "beats", {"Output": "oss://media/" + "k" * 20000 + ".json"}, "Output"),
    ("mix-input-missing-ice", "mix-ice", {"JobParams": {"inputs": [{"file": "oss://media/in/none.wav"}]}},
     "JobParams.inputs[0].file"),
    ("mix-input-missing-mts", "mix-mts", {"JobParams": {"inputs": [{"file": "oss://media/in/none.wav"}]}},
     "JobParams.inputs[0].file"),
    ("mix-input-image", "mix-ice", {"JobParams": {"inputs": [{"file": IMAGE}]}}, "JobParams.inputs[0].file"),
    ("mix-input-dotdot", "mix-mts", {"JobParams": {"inputs": [{"file": "oss://media/a/../b.wav"}]}},
     "JobParams.inputs[0].file"),
    ("bgimage-missing-ice", "green-ice", {"JobParams": {"bgimage": NONE_PNG}}, "JobParams.bgimage"),
    ("bgimage-missing-mts", "green-mts", {"JobParams": {"bgimage": NONE_PNG}}, "JobParams.bgimage"),
    ("bgimage-audio", "green-ice", {"JobParams": {"bgimage": WAV}}, "JobParams.bgimage"),
    ("green-no-bgimage-to-mp4", "green-mts", {"JobParams": "{}"}, "Output"),
    ("job-params-2000-deep-ice", "captions-ice", {"JobParams": _deep(2000)}, "JobParams"),
    ("job-params-2000-deep-mts", "captions-mts", {"JobParams": _deep(2000)}, "JobParams"),
    ("fps-text", "captions-ice", {"JobParams": {"fps": "5"}}, "JobParams.fps"),
    ("query-over-64k-ice", "denoise", {"UserData": "u" * 70_000}, "UserData"),
    ("query-over-64k-mts", "beats", {"JobParams": json.dumps({"x": "j" * 70_000})}, "JobParams"),
]  # fmt: skip


@pytest.mark.parametrize(("base", "changes", "field"), [pytest.param(*c[1:], id=c[0]) for c in REPORTED])
def test_reported_bad_submits_are_refused(
    engine: Engine, base: str, changes: dict[str, Any], field: str
) -> None:
    api, query = _with(base, **changes)
    answer = assert_refused(engine, api, query, field)
    assert answer.code in ("InvalidParameter", "MissingParameter", "NotSupported.LocalEngine"), answer


def test_an_oversized_object_request_gets_an_oss_error_body(engine: Engine) -> None:
    import requests

    url = f"http://{engine.handle.endpoint}/media/x?" + "a=" + "b" * 70_000
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 414
    assert answer.text.startswith("<?xml") and "<Code>InvalidArgument</Code>" in answer.text


# -- generated faults -----------------------------------------------------------------------------------

_BAD_CHARS = st.sampled_from(["\x00", "\x01", "\x1f", "\x7f", "\n", "\t", "\r"])
_NOT_INTEGRAL = st.integers(-1000, 1000).map(lambda n: n + 0.5)


def _outside(low: int, high: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))


_NAME = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)


@st.composite
def bad_key(draw: st.DrawFn, ext: str) -> str:
    """An object URL whose key breaks one rule: a '.'/'..' segment, a control character, or > 1023 bytes."""
    kind = draw(st.sampled_from(["segment", "char", "long"]))
    head, tail = draw(_NAME), draw(_NAME)
    if kind == "segment":
        return f"oss://media/{head}/{draw(st.sampled_from(['..', '.']))}/{tail}{ext}"
    if kind == "char":
        return f"oss://media/{head}{draw(_BAD_CHARS)}{tail}{ext}"
    return "oss://media/" + "k" * draw(st.integers(1024, 3000)) + ext


def _out_field(api: str) -> str:
    return "Output.Media" if api == "ice" else "Output"


@st.composite
def bad_requests(draw: st.DrawFn) -> tuple[str, dict[str, str], str]:
    """One valid base with one fault: (api, parameters, the field the refusal must name)."""
    fault = draw(st.sampled_from([
        "output-key", "input-key", "placeholder", "extension", "fps", "tts-text", "tts-volume", "priority",
        "stray-priority", "pipeline", "mix-file", "bgimage", "nesting", "too-long",
    ]))  # fmt: skip
    api_pick = draw(st.sampled_from(["ice", "mts"]))
    if fault == "output-key":
        base = "denoise" if api_pick == "ice" else "beats"
        ext = ".wav" if base == "denoise" else ".json"
        return *_with(base, Output=draw(bad_key(ext))), _out_field(BASES[base][0])
    if fault == "input-key":
        base = "denoise" if api_pick == "ice" else "beats"
        return *_with(base, Input=draw(bad_key(".wav"))), "Input"
    if fault == "placeholder":
        base = "denoise" if api_pick == "ice" else "beats"
        ext = ".wav" if base == "denoise" else ".json"
        known = ["source", "timestamp", "sequenceId", "resultType"]
        hole = draw(st.one_of(
            st.sampled_from(["{source", "source}", "{", "}", "{{source}}", "{}", "{timestamp}}"]),
            _NAME.filter(lambda n: n not in known).map(lambda n: "{" + n + "}"),
        ))  # fmt: skip
        return *_with(base, Output=f"oss://media/out/{draw(_NAME)}{hole}{ext}"), _out_field(BASES[base][0])
    if fault == "extension":
        base = "denoise" if api_pick == "ice" else "beats"
        ok = ".wav" if base == "denoise" else ".json"
        ext = draw(st.one_of(st.sampled_from([".mp4", ".mp3", ".png", ".srt", ".json", ".wav", ".webm"]),
                             _NAME.map(lambda n: "." + n)).filter(lambda e: e != ok))  # fmt: skip
        return *_with(base, Output=f"oss://media/out/{{source}}{ext}"), _out_field(BASES[base][0])
    if fault == "fps":
        bad = draw(st.one_of(
            _outside(2, 10),
            _NOT_INTEGRAL,
            st.integers(2, 10).map(str), st.booleans(), st.lists(st.integers(), max_size=3),
            st.dictionaries(_NAME, st.integers(), max_size=2), _NAME,
        ))  # fmt: skip
        return *_with(f"captions-{api_pick}", JobParams={"fps": bad}), "JobParams.fps"
    if fault == "tts-text":
        junk = st.sampled_from(list(" \t\n\r\x00\x01\x07\x1b\x7f\ufffd\u200b.,;:!?-()[]'\"…、。"))
        return *_with("tts", JobParams={"text": "".join(draw(st.lists(junk, min_size=1, max_size=40)))}), (
            "JobParams.text"
        )
    if fault == "tts-volume":
        bad = draw(st.one_of(_outside(0, 100), st.integers(0, 100).map(str)))
        return *_with("tts", JobParams={"text": "hello", "volume": bad}), "JobParams.volume"
    if fault == "priority":
        bad = draw(st.one_of(
            _outside(1, 10),
            _NOT_INTEGRAL,
            _NAME.filter(lambda n: not n.isdigit()),
        ))  # fmt: skip
        if api_pick == "ice":
            return *_with("denoise", ScheduleConfig={"Priority": bad}), "ScheduleConfig.Priority"
        return *_with("beats", ScheduleParams={"Priority": bad}), "ScheduleParams.Priority"
    if fault == "stray-priority":
        base = "denoise" if api_pick == "ice" else "beats"
        return *_with(base, Priority=str(draw(st.integers(-5, 20)))), "Priority"
    if fault == "pipeline":
        pipe = draw(st.one_of(_NAME.filter(lambda n: n != "default"), st.text(min_size=129, max_size=300)))
        if api_pick == "ice":
            return *_with("denoise", ScheduleConfig={"PipelineId": pipe}), "ScheduleConfig.PipelineId"
        return *_with("beats", PipelineId=pipe), "PipelineId"
    if fault == "mix-file":
        file = draw(st.one_of(
            st.sampled_from([IMAGE, "oss://media/in/none.wav", "oss://no-such-bucket/in/a.wav"]),
            bad_key(".wav"),
        ))  # fmt: skip
        return *_with(f"mix-{api_pick}", JobParams={"inputs": [{"file": file}]}), "JobParams.inputs[0].file"
    if fault == "bgimage":
        url = draw(st.one_of(st.sampled_from([WAV, VIDEO, "oss://media/in/none.png"]), bad_key(".png")))
        return *_with(f"green-{api_pick}", JobParams={"bgimage": url}), "JobParams.bgimage"
    if fault == "nesting":
        depth = draw(st.integers(65, 3000))
        return *_with(f"captions-{api_pick}", JobParams=_deep(depth)), "JobParams"
    # too-long: a field over its limit (Name, UserData, ModelId ...), or a request line over 64 KB
    base = "denoise" if api_pick == "ice" else "beats"
    fields = {
        "UserData": 257,
        "ModelId": 129,
        **({"Name": 101, "TemplateId": 129} if api_pick == "ice" else {}),
    }
    name = draw(st.sampled_from(sorted(fields)))
    size = draw(st.one_of(st.integers(fields[name], fields[name] + 500), st.integers(66_000, 80_000)))
    return *_with(base, **{name: "x" * size}), name


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database: a failure prints its example, the next run starts fresh
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=bad_requests())
def test_generated_bad_submits_are_refused(engine: Engine, case: tuple[str, dict[str, str], str]) -> None:
    api, query, field = case
    assert_refused(engine, api, query, field)
