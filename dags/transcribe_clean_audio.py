"""Scheduled on the flagship's outputs: transcribe each narration the flagship cleans.

    (iprod_denoise_then_captions.denoise writes a clean WAV: an asset event through its output alias)
        └─> cleaned_audio ─> transcribe (ASR, one mapped task per WAV) ─> show

* No schedule of its own: the DAG runs when ``iprod_denoise_then_captions``'s ``denoise`` task has
  recorded an output file. Every IProduction task records each file its job wrote as an asset event
  through the alias ``iprod/<dag_id>/<task_id>`` (``airflow_iprod.assets.output_alias``); the Assets
  page lists the files.
* Each event carries the job (``JobId``, ``FunctionName``, ``Api``) and the connection id that reads the
  file, so the transcription runs where the WAV is: the cloud or the local engine.
* ``transcribe`` writes ``oss://<bucket>/transcripts/<name>.srt`` next to the flagship's bucket;
  ``show`` reads each SRT back as ``ObjectStoragePath("oss://…", conn_id=…)`` and prints it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_iprod.assets import output_alias
from airflow_iprod.operators.algorithms import ASROperator

FLAGSHIP = "iprod_denoise_then_captions"
CLEAN_AUDIO = output_alias(FLAGSHIP, "denoise")
POLL_S = float(os.environ.get("IPROD_POLL_INTERVAL", "2"))

with DAG(
    dag_id="iprod_transcribe_clean_audio",
    description="ASR on every clean narration the flagship DAG writes (scheduled on its output assets)",
    start_date=datetime(2025, 1, 1),
    schedule=CLEAN_AUDIO,
    catchup=False,
    tags=["iprod", "example", "assets"],
    doc_md=__doc__,
) as dag:

    @task
    def cleaned_audio(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """One ASR job per WAV the triggering events name, on the connection that wrote it."""
        jobs = []
        for event in triggering_asset_events[CLEAN_AUDIO] if triggering_asset_events else []:
            uri = event.asset.uri
            bucket = uri.removeprefix("oss://").split("/", 1)[0]
            print(f"{uri}: job {event.extra.get('JobId')} of {event.source_dag_id}/{event.source_run_id}")
            jobs.append(
                {
                    "input": uri,
                    "conn_id": event.extra["conn_id"],
                    "output": f"oss://{bucket}/transcripts/{{source}}.srt",
                }
            )
        return jobs

    jobs = cleaned_audio()
    # Retries as in the flagship: a retry re-attaches to the job it submitted (the JobId is in the task
    # state store), so no second job is paid for. It also covers Airflow's resume race, where the
    # executor's late report of the deferring attempt marks the resumed task failed.
    transcripts = ASROperator.partial(
        task_id="transcribe",
        lang="en",
        poll_interval=POLL_S,
        timeout=1800,
        retries=2,
        retry_delay=timedelta(seconds=10),
    ).expand_kwargs(jobs)

    @task
    def show(results: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> dict[str, str]:
        """Print each transcript, read back from OSS on the job's own connection."""
        from airflow.sdk import ObjectStoragePath

        texts = {}
        for result, job in zip(results, jobs, strict=True):
            for url in result["Outputs"]:
                texts[url] = ObjectStoragePath(url, conn_id=job["conn_id"]).read_text(encoding="utf-8")
                print(f"--- {url}\n{texts[url]}")
        return texts

    show(transcripts.output, jobs)
