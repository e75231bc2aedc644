"""DAGs the provider tests run with ``dag.test(run_conf=...)``: every location comes from the run conf.

(Airflow 3.3's ``dag.test()`` needs the DAG in a bundle folder, so they live here, not in the tests.)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_iprod.operators.algorithms import (
    ASROperator,
    CoverOperator,
    SpeechDenoiseOperator,
    TextToSpeechOperator,
)
from airflow_iprod.operators.iproduction import IProductionJobOperator
from airflow_iprod.sensors.iproduction import IProductionJobSensor

START = datetime(2025, 1, 1)
DAGS: dict[str, DAG] = {}  # the tests pick theirs by id


def _dag(dag_id: str, **task_defaults: Any) -> DAG:
    """A DAG in ``DAGS`` whose tasks all take their connection from the run conf (``params.conn``), and
    ``task_defaults`` (poll_interval, deferrable, retries ...) as default_args besides."""
    dag = DAG(
        dag_id,
        schedule=None,
        start_date=START,
        default_args={"conn_id": "{{ params.conn }}", **task_defaults},
    )
    DAGS[dag_id] = dag
    return dag


for deferrable in (True, False):
    with _dag(
        f"iprod_test_chain_{'deferred' if deferrable else 'polled'}", poll_interval=0.3, deferrable=deferrable
    ):
        first = SpeechDenoiseOperator(
            task_id="first", input="{{ params.src }}", output="{{ params.out }}/{source}-1.wav"
        )
        SpeechDenoiseOperator(task_id="second", input=first.output, output="{{ params.out }}/{source}-2.wav")

with _dag("iprod_test_single", poll_interval=0.2):
    SpeechDenoiseOperator(task_id="denoise", input="{{ params.src }}", output="{{ params.out }}/{source}.wav")

with _dag("iprod_test_bad_params"):
    IProductionJobOperator(
        task_id="captions",
        function_name="CaptionExtraction",
        input="{{ params.src }}",
        output="oss://media/bad/{source}.srt",
        job_params={"fps": "{{ params.fps }}"},
    )

with _dag(
    "iprod_test_reattach", deferrable=False, poll_interval=0.2, retries=1, retry_delay=timedelta(seconds=2)
):
    IProductionJobOperator(
        task_id="denoise",
        function_name="SpeechDenoise",
        input="{{ params.src }}",
        output="{{ params.out }}/{source}-clean.wav",
        timeout=120,
    )

with _dag("iprod_test_sensor"):
    IProductionJobSensor(task_id="wait", job_id="{{ params.job_id }}", poke_interval=0.3)

with _dag("iprod_test_sensor_polled"):
    IProductionJobSensor(task_id="wait", job_id="{{ params.job_id }}", poke_interval=0.3, deferrable=False)

# MPS Query lists no output files: TextToSpeech's WAV ({timestamp}) must still reach ASR through
# .output, and Cover's three {sequenceId} stills must come back in order.
with _dag("iprod_test_mps_outputs", poll_interval=0.3):
    tts = TextToSpeechOperator(
        task_id="tts", text="{{ params.text }}", output="{{ params.out }}/tts-{timestamp}.wav"
    )
    ASROperator(task_id="asr", input=tts.output, output="{{ params.out }}/{source}.srt", lang="en")
    CoverOperator(
        task_id="cover",
        api="mts",
        input="{{ params.video }}",
        output="{{ params.out }}/cover/{source}-{sequenceId}.png",
    )


# ---------------------------------------------------------------- chaos (tests/chaos): real processes


class _HoldBeforeDefer(IProductionJobOperator):
    """The real operator, paused on its first try where a crash is most costly: the job is submitted and
    its JobId persisted in the task state store, the deferral not yet made. With ``params.hold_file`` it
    writes the JobId there and sleeps, so a chaos test can kill -9 the task process inside that window
    (otherwise a few milliseconds wide); the next try runs unpaused."""

    def poll_until_complete(self, external_id: Any, context: Any) -> Any:
        hold_file = context["params"].get("hold_file")
        if hold_file and context["ti"].try_number == 1:
            Path(hold_file).write_text(str(external_id))
            time.sleep(120)  # killed long before this ends
        return super().poll_until_complete(external_id, context)


with _dag("iprod_test_crash_deferred", poll_interval=0.3, retries=1, retry_delay=timedelta(seconds=1)):
    _HoldBeforeDefer(
        task_id="denoise",
        function_name="SpeechDenoise",
        input="{{ params.src }}",
        output="{{ params.out }}/{source}-clean.wav",
        timeout=120,
    )

# 20 tasks deferred at once (one run): the triggerer chaos test kills the triggerer under them.
FANOUT = 20
with _dag("iprod_test_fanout", poll_interval=0.5, timeout=300):
    for n in range(FANOUT):
        SpeechDenoiseOperator(
            task_id=f"denoise_{n:02d}",
            input="{{ params.src }}",
            output=f"{{{{ params.out }}}}/{{source}}-{n}.wav",
        )


# bench/bench_triggerer.py: many deferred tasks waiting in one real triggerer. The plan (a JSON file the
# bench writes) gives each mapped task its output, its UserData (how long the engine's user-data-hold
# fault holds the job) and expected_duration (the estimate the operator would otherwise make).
def _bench_plan() -> list[dict[str, Any]]:
    import json
    import os

    path = os.environ.get("IPROD_BENCH_PLAN")
    return json.loads(Path(path).read_text()) if path else [{"output": "oss://media/bench/0.wav"}]


with _dag("iprod_bench_many_waits", poll_interval=10.0, retries=0):
    SpeechDenoiseOperator.partial(task_id="wait", input="{{ params.src }}").expand_kwargs(_bench_plan())


# Callback mode (tests/operators/test_callbacks.py): the triggerer waits on the MNS queue of the
# connection's ``callback_queue`` extra. expected_duration keeps the tasks from polling before deferring.
with _dag("iprod_test_callbacks", wait_mode="callback", expected_duration=60, timeout=120):
    IProductionJobOperator(
        task_id="mps",
        api="mts",
        function_name="ImageH2V",
        input="{{ params.png }}",
        output="{{ params.out }}/h2v.png",
    )
    SpeechDenoiseOperator(task_id="ice", input="{{ params.wav }}", output="{{ params.out }}/{source}.wav")

with _dag("iprod_test_callbacks_sensor"):
    IProductionJobSensor(
        task_id="wait",
        job_id="{{ params.job_id }}",
        wait_mode="callback",
        callback_queue="{{ params.queue }}",
        timeout=120,
    )
