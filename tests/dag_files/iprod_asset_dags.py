"""DAGs of the asset and lineage tests: a producer whose jobs' outputs become asset events, a consumer
scheduled on the producer's output alias, and an ICE and an MPS job for OpenLineage.

Locations come from the run conf, except the declared outlet, which a DAG must know at parse time.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset, task

from airflow_iprod.assets import output_alias
from airflow_iprod.operators.algorithms import SpeechDenoiseOperator, TextToSpeechOperator

PRODUCER = "iprod_assets_producer"
CONSUMER = "iprod_assets_consumer"
LINEAGE = "iprod_lineage"
DECLARED = "oss://media/asset-tests/declared"  # a folder: covers every file written under it
DAGS: dict[str, DAG] = {}

with DAG(
    PRODUCER,
    schedule=None,
    start_date=datetime(2025, 1, 1),
    default_args={"conn_id": "{{ params.conn }}", "poll_interval": 0.2},
) as producer:
    # deferred, with a declared Asset outlet besides the task's own alias
    first = SpeechDenoiseOperator(
        task_id="denoise",
        input="{{ params.src }}",
        output=DECLARED + "/{source}-clean.wav",
        outlets=[Asset(DECLARED)],
    )
    # polled in the worker, chained on the first job's output; declares the same folder but writes
    # elsewhere: Airflow still records the declared outlet, the extra says no file of the job is there
    SpeechDenoiseOperator(
        task_id="again",
        input=first.output,
        output="{{ params.out }}/{source}-2.wav",
        deferrable=False,
        outlets=[Asset(DECLARED)],
    )
DAGS[PRODUCER] = producer

with DAG(CONSUMER, schedule=output_alias(PRODUCER, "denoise"), start_date=datetime(2025, 1, 1)) as consumer:

    @task
    def files(triggering_asset_events=None) -> list[str]:
        return sorted(asset.uri for asset in triggering_asset_events or {})

    files()
DAGS[CONSUMER] = consumer

with DAG(
    LINEAGE,
    schedule=None,
    start_date=datetime(2025, 1, 1),
    default_args={"conn_id": "{{ params.conn }}", "poll_interval": 0.2},
) as lineage:
    SpeechDenoiseOperator(task_id="denoise", input="{{ params.src }}", output="{{ params.out }}/{source}.wav")
    # MPS, no input file, JobParams given
    TextToSpeechOperator(
        task_id="speak",
        text="{{ params.text }}",
        speech_rate=1.2,
        output="{{ params.out }}/tts-{timestamp}.wav",
    )
DAGS[LINEAGE] = lineage
