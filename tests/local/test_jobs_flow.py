"""Jobs end to end through the official SDKs: Submit, Query until done, outputs in the object store.

Uses SpeechDenoise (ICE) on a short generated 16 kHz WAV and VideoDelogo (MPS) on a 1 s test video;
both are real algorithms, so these tests also check that outputs are real files of the right kind."""

from __future__ import annotations

import io
import json
import re
import time
import wave
from calendar import timegm
from pathlib import Path
from typing import Any

import pytest
import requests
from alibabacloud_ice20201109 import models as ice_models

from airflow_iprod.local.config import FaultConfig
from tests.conftest import upload_to, wait_for
from tests.local.wavgen import noisy_tone_wav

GMT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _read(handle: Any, url: str) -> bytes:
    bucket, key = url.removeprefix("oss://").split("/", 1)
    return handle.engine.objects.path_for(bucket, key).read_bytes()


def _wav_shape(data: bytes) -> tuple[int, int, int]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes()


def test_ice_job_runs_and_query_echoes_every_field(local_engine: Any, upload: Any, run_job: Any) -> None:
    source = noisy_tone_wav(1.0)
    url = upload(source, "flow/voice-take1.wav")
    before = int(time.time())
    body = run_job(
        "ice", "SpeechDenoise", url, "oss://media/flow/out/{source}-{timestamp}.wav",
        name="denoise one", user_data='{"ticket": 7}', priority=4, pipeline_id="pipe-a", template_id="tpl-1",
    )  # fmt: skip
    assert body["Status"] == "Success", body
    assert body["FunctionName"] == "SpeechDenoise" and body["Name"] == "denoise one"
    assert body["Input"] == {"Type": "OSS", "Media": url}
    assert body["Output"]["Type"] == "OSS" and body["Output"]["Media"].endswith("{source}-{timestamp}.wav")
    assert body["ScheduleConfig"] == {"PipelineId": "pipe-a", "Priority": 4}
    assert body["UserData"] == '{"ticket": 7}' and body["TemplateId"] == "tpl-1"
    assert GMT.match(body["CreateTime"]) and GMT.match(body["FinishTime"])
    assert json.loads(body["Result"]) == {}
    # {source} is the input name without extension, {timestamp} the Unix time of the job.
    (out,) = body["OutputFiles"]
    stamp = int(re.search(r"voice-take1-(\d+)\.wav$", out).group(1))
    assert before - 1 <= stamp <= int(time.time())
    assert stamp == timegm(time.strptime(body["CreateTime"], "%Y-%m-%dT%H:%M:%SZ"))
    # OutputUrls point at the engine (presigned: every local bucket is private) and download the file.
    (http_url,) = body["OutputUrls"]
    assert http_url.startswith(f"http://{local_engine.endpoint}/media/flow/out/voice-take1-{stamp}.wav?")
    assert requests.get(http_url, timeout=10).content == _read(local_engine, out)
    assert body["OutputMediaIds"] == []
    # The output is a real WAV with the input's rate and length (SpeechDenoise keeps both).
    assert _wav_shape(_read(local_engine, out)) == _wav_shape(source)


def test_ice_output_readable_through_the_object_api(local_engine: Any, upload: Any, run_job: Any) -> None:
    pytest.importorskip("airflow_iprod.local.oss_api")
    import alibabacloud_oss_v2 as oss

    from tests.conftest import oss_client_for

    url = upload(noisy_tone_wav(0.5), "flow/api-read.wav")
    body = run_job("ice", "SpeechDenoise", url, "oss://media/flow/api/{source}.wav")
    assert body["Status"] == "Success", body
    got = oss_client_for(local_engine).get_object(
        oss.GetObjectRequest(bucket="media", key="flow/api/api-read.wav")
    )
    assert _wav_shape(got.body.read())[0] == 16000


def test_mps_job_answers_state_and_flat_fields(
    local_engine: Any, upload: Any, run_job: Any, tmp_path: Path
) -> None:
    from tests.mediagen.video import ffmpeg

    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1", "-pix_fmt", "yuv420p", str(clip))
    url = upload(clip, "flow/mps/clip.mp4")
    body = run_job(
        "mts", "VideoDelogo", url, "oss://media/flow/mps/{source}-clean.mp4",
        {"Logo": "[[0, 0, 0.3, 0.3]]"}, user_data="mps-data", pipeline_id="mps-pipe",
    )  # fmt: skip
    assert body["State"] == "Success", body
    assert "Status" not in body
    assert body["Input"] == url and body["Output"] == "oss://media/flow/mps/{source}-clean.mp4"
    assert body["FunctionName"] == "VideoDelogo" and body["UserData"] == "mps-data"
    assert body["PipelineId"] == "mps-pipe" and json.loads(body["JobParams"]) == {
        "Logo": "[[0, 0, 0.3, 0.3]]"
    }
    data = _read(local_engine, "oss://media/flow/mps/clip-clean.mp4")
    assert data[4:8] == b"ftyp"  # an MP4 file


def test_media_ids_in_and_out(local_engine: Any, ice_client: Any, upload: Any, run_job: Any) -> None:
    url = upload(noisy_tone_wav(0.5), "flow/media/in.wav")
    reg = ice_client.register_media_info(ice_models.RegisterMediaInfoRequest(input_url=url, title="take"))
    media_id = reg.body.media_id
    assert media_id
    again = ice_client.register_media_info(ice_models.RegisterMediaInfoRequest(input_url=url))
    assert again.body.media_id == media_id  # one asset per URL
    info = ice_client.get_media_info(ice_models.GetMediaInfoRequest(media_id=media_id)).body.media_info
    assert info.media_basic_info.input_url == url and info.media_basic_info.title == "take"

    # Input by media ID; Output as a new asset (Media empty) in VOD, file at OutputUrl.
    new_out = "oss://media/flow/media/{source}-new.wav"
    body = run_job(
        "ice", "SpeechDenoise", media_id, new_out, input_type="Media", output_type="Media", biz="VOD"
    )
    assert body["Status"] == "Success", body
    (new_id,) = body["OutputMediaIds"]
    assert new_id and new_id != media_id
    assert body["Output"]["Media"] == new_id and body["Output"]["Biz"] == "VOD"
    assert body["Input"] == {"Type": "Media", "Media": media_id}
    created = ice_client.get_media_info(ice_models.GetMediaInfoRequest(media_id=new_id)).body.media_info
    assert created.media_basic_info.input_url == body["OutputFiles"][0] == "oss://media/flow/media/in-new.wav"
    assert created.media_basic_info.biz == "VOD"
    assert created.file_info_list[0].file_basic_info.file_status == "Normal"

    # Output into an existing asset: its file now points at the new output.
    again_out = "oss://media/flow/media/{source}-again.wav"
    body = run_job("ice", "SpeechDenoise", url, again_out, output_type="Media", output_media=new_id)
    assert body["Status"] == "Success", body
    assert body["OutputMediaIds"] == [new_id]
    moved = ice_client.get_media_info(ice_models.GetMediaInfoRequest(media_id=new_id)).body.media_info
    assert moved.media_basic_info.input_url == "oss://media/flow/media/in-again.wav"


def test_forced_failure_is_reported_with_code_and_message(make_engine: Any) -> None:
    handle = make_engine(faults=FaultConfig(fail_jobs=frozenset({"SpeechDenoise"})))
    url = upload_to(handle, noisy_tone_wav(0.3), "f/a.wav")
    client = handle.ice()
    from tests.conftest import submit_to

    job_id = submit_to(client, "ice", "SpeechDenoise", url, "oss://media/f/{source}-x.wav")
    body = wait_for(client, "ice", job_id, timeout=30)
    assert body["Status"] == "Fail"
    result = json.loads(body["Result"])
    assert result["Code"] == "InjectedFault" and "fault injection" in result["Message"]
    assert body["OutputFiles"] == []


def test_input_that_fails_in_the_algorithm_ends_in_fail(local_engine: Any, upload: Any, run_job: Any) -> None:
    # A WAV header that passes the Submit input check (16 kHz) but holds no samples: the algorithm refuses it.
    empty = io.BytesIO()
    with wave.open(empty, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    url = upload(empty.getvalue(), "flow/empty.wav")
    body = run_job("ice", "SpeechDenoise", url, "oss://media/flow/out/{source}.wav")
    assert body["Status"] == "Fail"
    result = json.loads(body["Result"])
    assert result["Code"] and "Input" in result["Message"]
