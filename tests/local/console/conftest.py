"""One engine for the console tests, with real jobs submitted through the official SDKs.

``console`` (package scope) starts an engine of its own (so the job list holds exactly these jobs),
submits them all at once so its workers overlap them, and waits for every one:

* ``tts``: MPS TextToSpeech -> ``media/console/speech/greeting.wav``, with a hostile UserData;
* ``asr``: MPS ASR (en) of that WAV -> an SRT;
* ``image``: MPS ImageH2V of a generated JPEG -> PNG, on the ``console-pipe`` pipeline;
* ``video``: ICE VideoClip of a generated two-shot MP4 -> MP4, priority 3, on ``console-pipe``;
* ``failed``: MPS ImageDelogo, which the engine's fault injection ends in ``Fail``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytest

from airflow_iprod.local.config import FaultConfig
from tests.conftest import (
    EngineHandle,
    _start,
    ice_client_for,
    mts_client_for,
    submit_to,
    upload_to,
    wait_for,
)
from tests.mediagen.video import multi_shot_video

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
SPEECH = "The quick brown fox jumps over the lazy dog."
PIPELINE = "console-pipe"
INJECTED = "Injected failure for the console test"


@dataclass
class ConsoleJobs:
    handle: EngineHandle
    ids: dict[str, str]  # name above -> JobId
    bodies: dict[str, dict[str, Any]]  # name -> the Query body at the end

    @property
    def base(self) -> str:
        return f"http://{self.handle.endpoint}/-/console"


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleJobs]:
    tmp = tmp_path_factory.mktemp("console-media")
    faults = FaultConfig(fail_jobs=frozenset({"ImageDelogo"}), fail_message=INJECTED)
    handle = _start(tmp_path_factory.mktemp("console-engine"), pipelines={PIPELINE: 2}, faults=faults)
    try:
        mts, ice = mts_client_for(handle), ice_client_for(handle)
        still = np.zeros((360, 640, 3), np.uint8)
        still[:] = (60, 110, 170)
        cv2.circle(still, (420, 170), 90, (240, 240, 240), -1)
        image_url = upload_to(handle, cv2.imencode(".jpg", still)[1].tobytes(), "console/in/scene.jpg")
        clip = multi_shot_video(tmp / "shots.mp4", [("testsrc2", 1.0), ("mandelbrot", 1.0)])
        video_url = upload_to(handle, clip.path, "console/in/shots.mp4")
        speech_out = "oss://media/console/speech/greeting.wav"
        ids = {
            "tts": submit_to(
                mts, "mts", "TextToSpeech", None, speech_out, {"text": SPEECH}, user_data=HOSTILE
            ),
            "image": submit_to(
                mts,
                "mts",
                "ImageH2V",
                image_url,
                "oss://media/console/h2v/{source}.png",
                pipeline_id=PIPELINE,
            ),
            "video": submit_to(
                ice,
                "ice",
                "VideoClip",
                video_url,
                "oss://media/console/clip/{source}.mp4",
                priority=3,
                pipeline_id=PIPELINE,
            ),
            "failed": submit_to(
                mts, "mts", "ImageDelogo", image_url, "oss://media/console/delogo/{source}.png"
            ),
        }
        bodies = {"tts": wait_for(mts, "mts", ids["tts"])}
        assert bodies["tts"]["State"] == "Success", bodies["tts"]
        ids["asr"] = submit_to(
            mts, "mts", "ASR", speech_out, "oss://media/console/asr/{source}.srt", {"lang": "en"}
        )
        for name in ("image", "failed", "asr"):
            bodies[name] = wait_for(mts, "mts", ids[name])
        bodies["video"] = wait_for(ice, "ice", ids["video"])
        yield ConsoleJobs(handle, ids, bodies)
    finally:
        handle.engine.stop()


def sign_in(session: Any, console: ConsoleJobs) -> Any:
    """A ``requests`` session signed in to the console with the engine's key."""
    response = session.post(
        f"{console.base}/login",
        data={
            "access_key_id": console.handle.access_key_id,
            "access_key_secret": console.handle.access_key_secret,
        },
        allow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return session
