"""DAGs the provider tests run with ``dag.test(run_conf=...)``: every location comes from the run conf.

(Airflow 3.3's ``dag.test()`` needs the DAG in a bundle folder, so they live here, not in the tests.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

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

for deferrable in (True, False):
    chain_id = f"iprod_test_chain_{'deferred' if deferrable else 'polled'}"
    with DAG(chain_id, schedule=None, start_date=START) as dag:
        DAGS[dag.dag_id] = dag
        first = SpeechDenoiseOperator(
            task_id="first",
            conn_id="{{ params.conn }}",
            input="{{ params.src }}",
            output="{{ params.out }}/{source}-1.wav",
            poll_interval=0.3,
            deferrable=deferrable,
        )
        SpeechDenoiseOperator(
            task_id="second",
            conn_id="{{ params.conn }}",
            input=first.output,
            output="{{ params.out }}/{source}-2.wav",
            poll_interval=0.3,
            deferrable=deferrable,
        )

with DAG("iprod_test_single", schedule=None, start_date=START) as dag:
    DAGS[dag.dag_id] = dag
    SpeechDenoiseOperator(
        task_id="denoise",
        conn_id="{{ params.conn }}",
        input="{{ params.src }}",
        output="{{ params.out }}/{source}.wav",
        poll_interval=0.2,
    )

with DAG("iprod_test_bad_params", schedule=None, start_date=START) as dag:
    DAGS[dag.dag_id] = dag
    IProductionJobOperator(
        task_id="captions",
        function_name="CaptionExtraction",
        conn_id="{{ params.conn }}",
        input="{{ params.src }}",
        output="oss://media/bad/{source}.srt",
        job_params={"fps": "{{ params.fps }}"},
    )

with DAG("iprod_test_reattach", schedule=None, start_date=START) as dag:
    DAGS[dag.dag_id] = dag
    IProductionJobOperator(
        task_id="denoise",
        function_name="SpeechDenoise",
        conn_id="{{ params.conn }}",
        input="{{ params.src }}",
        output="{{ params.out }}/{source}-clean.wav",
        deferrable=False,
        poll_interval=0.2,
        timeout=120,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )

with DAG("iprod_test_sensor", schedule=None, start_date=START) as dag:
    DAGS[dag.dag_id] = dag
    IProductionJobSensor(
        task_id="wait", job_id="{{ params.job_id }}", conn_id="{{ params.conn }}", poke_interval=0.3
    )

with DAG("iprod_test_mps_outputs", schedule=None, start_date=START) as dag:
    # MPS Query lists no output files: TextToSpeech's WAV ({timestamp}) must still reach ASR through
    # .output, and Cover's three {sequenceId} stills must come back in order.
    DAGS[dag.dag_id] = dag
    tts = TextToSpeechOperator(
        task_id="tts",
        conn_id="{{ params.conn }}",
        text="{{ params.text }}",
        output="{{ params.out }}/tts-{timestamp}.wav",
        poll_interval=0.3,
    )
    ASROperator(
        task_id="asr",
        conn_id="{{ params.conn }}",
        input=tts.output,
        output="{{ params.out }}/{source}.srt",
        lang="en",
        poll_interval=0.3,
    )
    CoverOperator(
        task_id="cover",
        api="mts",
        conn_id="{{ params.conn }}",
        input="{{ params.video }}",
        output="{{ params.out }}/cover/{source}-{sequenceId}.png",
        poll_interval=0.3,
    )
