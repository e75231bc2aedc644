"""MPS outputs: the MPS Query answer lists no files, so the operator finds them under the output template.

Unit tests of the template matcher, then one DAG run on the local engine (through the MPS SDK, which
drops any field the cloud's MPS answer does not have): TextToSpeech -> ASR chained by ``.output``, and a
Cover job whose three ``{sequenceId}`` stills come back in order, with decoys under the same prefixes.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_iprod import mps_outputs
from airflow_iprod.mps_outputs import Listed, key_pattern, select, source_name


def _at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def test_template_becomes_a_pattern() -> None:
    regex = key_pattern("out/{source}-{timestamp}-{sequenceId}.{resultType}.png", "talk.v2")
    match = regex.fullmatch("out/talk.v2-1750000000-00012.vocals.png")
    assert match and match["sequenceId"] == "00012" and match["resultType"] == "vocals"
    assert not regex.fullmatch("out/talkXv2-1750000000-00012.vocals.png")  # '.' is literal
    assert not regex.fullmatch("out/talk.v2-1750000000-0012.vocals.png")  # five digits
    assert not regex.fullmatch("out/talk.v2-1750000000-00012.vocals.png.bak")  # whole key
    # the same placeholder twice must repeat its value
    twice = key_pattern("{source}/{sequenceId}/{source}-{sequenceId}.gif", "a")
    assert twice.fullmatch("a/00001/a-00001.gif") and not twice.fullmatch("a/00001/a-00002.gif")
    # no input file (TextToSpeech): {source} is any name within one path segment
    anyone = key_pattern("tts/{source}.wav", None)
    assert anyone.fullmatch("tts/x.wav") and not anyone.fullmatch("tts/a/x.wav")


def test_source_name_of_inputs() -> None:
    assert source_name("oss://media/a/b/talk.final.wav") == "talk.final"
    assert source_name("http://media.oss-cn-shanghai.aliyuncs.com/a/my%20clip.mp4") == "my clip"
    assert source_name("oss://media/a/noext") == "noext"
    assert source_name("0a1b2c3d4e5f") is None and source_name(None) is None


def test_select_orders_by_sequence_and_keeps_the_jobs_lifetime() -> None:
    submitted, finished = 1_750_000_000.0, 1_750_000_300.0
    listed = [
        Listed("c/v-00010.png", _at(submitted + 5)),
        Listed("c/v-00002.png", _at(submitted + 5)),
        Listed("c/v-00001.png", _at(submitted + 5)),
        Listed("c/v-00003.png", _at(submitted - 3600)),  # an earlier run's leftover
        Listed("c/w-00004.png", _at(submitted + 5)),  # another source
        Listed("c/v-1.png", _at(submitted + 5)),  # not five digits
    ]
    got = select(listed, "c/{source}-{sequenceId}.png", "v", not_before=submitted, not_after=finished)
    assert got == ["c/v-00001.png", "c/v-00002.png", "c/v-00010.png"]
    # with no known lifetime nothing is dropped for its age
    assert len(select(listed, "c/{source}-{sequenceId}.png", "v")) == 4

    stamps = [
        Listed(f"t/x-{int(submitted) + 10}.wav"),  # seconds, inside
        Listed(f"t/x-{int(submitted + 20) * 1000}.wav"),  # milliseconds, inside
        Listed(f"t/x-{int(submitted) - 86400}.wav"),  # a day before the submit
        Listed(f"t/x-{int(finished) + 86400}.wav"),  # a day after the finish
    ]
    got = select(stamps, "t/x-{timestamp}.wav", None, not_before=submitted, not_after=finished)
    assert got == [stamps[0].key, stamps[1].key]


def test_no_placeholder_is_the_output_without_listing() -> None:
    def no_listing() -> Any:
        raise AssertionError("a template without placeholders must not be listed")

    assert mps_outputs.find_outputs("oss://media/a/out.srt", "oss://media/in.wav", no_listing) == [
        "oss://media/a/out.srt"
    ]


def test_listing_is_bounded(local_engine: Any, upload: Any, iprod_conn: str) -> None:
    """Only ``max_keys`` objects are read; the caller is warned that the prefix was not exhausted."""
    from airflow_iprod.hooks.iproduction import IProductionHook

    for i in range(5):
        upload(b"x", f"bounded/v-{i + 1:05d}.png")
    warnings: list[str] = []
    got = mps_outputs.find_outputs(
        "oss://media/bounded/{source}-{sequenceId}.png",
        "oss://media/in/v.mp4",
        IProductionHook(iprod_conn, api="mts").oss_client,
        max_keys=3,
        warn=warnings.append,
    )
    assert got == [f"oss://media/bounded/v-{i:05d}.png" for i in (1, 2, 3)]
    assert warnings and "more than 3 objects" in warnings[0]


def _clip(path: Path) -> Path:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=320x180:rate=25:duration=4", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.mark.slow
def test_mps_chain_and_cover_outputs(run_dag, local_engine, upload, iprod_conn, tmp_path) -> None:
    from tests.mediagen.speech import SENTENCES
    from tests.mediagen.wer import wer
    from tests.operators.test_iproduction import _jobs, _xcom

    out = "oss://media/mps-outputs"
    video = upload(_clip(tmp_path / "clip.mp4"), "mps-outputs/in/clip.mp4")
    # decoys under the listed prefixes: an old TTS file and covers of another source / wrong digits
    for key in ("tts-1000000000.wav", "cover/other-00001.png", "cover/clip-1.png"):
        upload(b"decoy", f"mps-outputs/{key}")
    text = SENTENCES[6]
    before = time.time()
    dag_run = run_dag("iprod_test_mps_outputs", conn=iprod_conn, out=out, text=text, video=video)
    after = time.time()
    assert dag_run.state == "success", [(t.task_id, t.state) for t in dag_run.get_task_instances()]

    tts, asr, cover = (_xcom(dag_run, t) for t in ("tts", "asr", "cover"))
    assert tts["Api"] == "mts" and tts["OutputFiles"] == []  # MPS listed nothing ...
    (wav,) = tts["Outputs"]  # ... yet the one WAV was found, not the decoy
    stamp = int(wav.removeprefix(f"{out}/tts-").removesuffix(".wav"))
    assert before - 1 <= stamp <= after + 1 and tts["Output"] == wav

    asr_job = next(j for j in _jobs(local_engine) if j.job_id == asr["JobId"])
    assert asr_job.input_url == wav  # ASR read the TTS output
    assert asr["Output"] == f"{out}/tts-{stamp}.srt"
    score = wer(text, asr["Result"]["Text"])
    print(f"MPS chain TextToSpeech -> ASR: WER {100 * score:.0f}% ({asr['Result']['Text']!r})")
    assert score <= 0.5

    assert cover["Outputs"] == [f"{out}/cover/clip-{i:05d}.png" for i in (1, 2, 3)]
    assert cover["Output"] is None  # several files: pick one with Outputs[i]
    assert [p["Url"] for p in cover["Result"]] == cover["Outputs"]
