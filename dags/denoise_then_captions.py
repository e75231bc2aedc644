"""Flagship example: clean a talk's narration, read its burnt-in captions, publish the deliverables.

    prepare_talk ─┬─> SpeechDenoise (narration.wav) ──┐
                  └─> CaptionExtraction (talk.mp4) ───┴─> publish (clean WAV, SRT, report.json)

* ``prepare_talk`` generates a short talk recording (espeak narration + noise, a video with the same
  lines burnt in as captions) and uploads both to OSS. Point ``talk_wav`` / ``talk_video`` at your
  own ``oss://`` objects to skip generation.
* The two IProduction jobs wait in the triggerer (deferrable), not in a worker slot.
* ``publish`` reads the cleaned audio and the SRT as ``ObjectStoragePath("oss://…", conn_id=…)`` (the
  provider's ``oss`` filesystem) into ``output_dir``, writes ``report.json`` describing both jobs and
  ``summary.txt`` (the captions read, the narration's noise-floor drop), and prints the summary.

Later (issue 4): when ASR is available, the cleaned WAV from ``denoise.output`` becomes the input of an
``ASROperator`` and ``publish`` merges the spoken transcript with the burnt-in captions.

The connection (``conn_id``, type ``iprod``) decides where the jobs run: the Alibaba Cloud
endpoint, or the local engine (``airflow-iprod`` engine; extras ``endpoint=127.0.0.1:PORT``,
``protocol=http``). Its ``oss_endpoint`` extra (default: the engine's port, or the region's OSS
endpoint) is used for uploads and for the ``oss://`` paths.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_iprod.operators.algorithms import CaptionExtractionOperator, SpeechDenoiseOperator

CONN_ID = os.environ.get("IPROD_CONN_ID", "iprod_local")
# seconds between status queries; a cloud job takes minutes, the local engine's seconds
POLL_S = float(os.environ.get("IPROD_POLL_INTERVAL", "2"))
BUCKET = os.environ.get("IPROD_BUCKET", "media")
# where this run's deliverables go in the bucket (run ids hold ':' and '+', unwelcome in keys)
RUN_PREFIX = "oss://{{ params.bucket }}/deliverables/{{ run_id | replace(':', '-') | replace('+', '-') }}"
OUTPUT_DIR = os.environ.get("IPROD_OUTPUT_DIR", "/tmp/iprod-demo/output")


with DAG(
    dag_id="iprod_denoise_then_captions",
    description="SpeechDenoise + CaptionExtraction on a talk recording, then publish WAV, SRT and a report",
    start_date=datetime(2025, 1, 1),
    schedule=None,
    catchup=False,
    tags=["iprod", "example"],
    params={
        "conn_id": Param(CONN_ID, type="string", description="iprod connection id"),
        "bucket": Param(BUCKET, type="string", description="OSS bucket for inputs and outputs"),
        "output_dir": Param(OUTPUT_DIR, type="string", description="local folder for the deliverables"),
        "talk_wav": Param("", type="string", description="oss:// narration WAV (16/48 kHz); empty: generate"),
        "talk_video": Param(
            "", type="string", description="oss:// video with burnt-in captions; empty: generate"
        ),
        "lang": Param("en", enum=["en", "ch", "ch_ml"], description="caption language"),
    },
    render_template_as_native_obj=False,
    doc_md=__doc__,
) as dag:

    @task
    def prepare_talk(params: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, str]:
        """Upload a generated talk recording (unless both inputs are given) and return their OSS URLs."""
        import tempfile

        import alibabacloud_oss_v2 as oss

        assert params is not None
        if params["talk_wav"] and params["talk_video"]:
            return {"audio": params["talk_wav"], "video": params["talk_video"]}
        from airflow_iprod.demo.talk import make_talk
        from airflow_iprod.hooks.iproduction import IProductionHook

        client = IProductionHook(params["conn_id"]).oss_client()
        prefix = f"talks/{(run_id or 'manual').replace(':', '-').replace('+', '-')}"
        urls: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as tmp:
            talk = make_talk(tmp)
            # the clean narration too: the exact reference for judging the denoiser (espeak output
            # can differ between calls, so a regenerated talk is not a valid reference)
            inputs = (("audio", talk.noisy_wav), ("video", talk.video), ("reference", talk.clean_wav))
            for label, path in inputs:
                key = f"{prefix}/{os.path.basename(path)}"
                with open(path, "rb") as fh:
                    client.put_object(oss.PutObjectRequest(bucket=params["bucket"], key=key, body=fh.read()))
                urls[label] = f"oss://{params['bucket']}/{key}"
        urls["cues"] = talk.cues  # type: ignore[assignment]  # ground truth, for the report
        return urls

    media = prepare_talk()

    denoise = SpeechDenoiseOperator(
        task_id="denoise",
        conn_id="{{ params.conn_id }}",
        input=media["audio"],
        output=RUN_PREFIX + "/{source}-clean.wav",
        poll_interval=POLL_S,
        timeout=1800,
        retries=2,
        retry_delay=timedelta(seconds=20),
    )

    captions = CaptionExtractionOperator(
        task_id="captions",
        conn_id="{{ params.conn_id }}",
        input=media["video"],
        output=RUN_PREFIX + "/{source}.srt",
        lang="{{ params.lang }}",
        fps=5,
        poll_interval=POLL_S,
        timeout=1800,
        retries=2,
        retry_delay=timedelta(seconds=20),
    )

    @task
    def publish(
        denoised: dict[str, Any],
        srt: dict[str, Any],
        media: dict[str, Any],
        params: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Download the cleaned WAV and the SRT into output_dir, write report.json and summary.txt.

        The jobs' outputs are read as ``ObjectStoragePath("oss://...", conn_id=...)``: the provider's
        ``oss`` filesystem, on the same connection as the jobs (the cloud or the local engine).
        """
        import json
        import tempfile
        from pathlib import Path

        from airflow.sdk import ObjectStoragePath

        from airflow_iprod.demo.report import noise_floor, srt_lines, summary_text

        assert params is not None
        out = Path(params["output_dir"]) / (run_id or "manual").replace(":", "-").replace("+", "-")
        out.mkdir(parents=True, exist_ok=True)

        def download(url: str, folder: Path) -> Path:
            source = ObjectStoragePath(url, conn_id=params["conn_id"])
            target = folder / source.name
            target.write_bytes(source.read_bytes())
            return target

        files: dict[str, str] = {}
        for label, job in (("clean_audio", denoised), ("captions", srt)):
            for url in job["Outputs"]:
                files[label] = str(download(url, out))
        files["report"] = str(out / "report.json")

        floor = None
        try:  # a figure for the summary, measured on the input's own pauses (numpy/soundfile needed)
            with tempfile.TemporaryDirectory() as tmp:
                noisy = download(media["audio"], Path(tmp))
                floor = noise_floor(noisy, files["clean_audio"])
        except Exception as err:  # the deliverables stand without the figure
            print(f"(no noise-floor figure: {type(err).__name__}: {err})")
        cues = srt_lines(Path(files["captions"]).read_text(encoding="utf-8"))
        report = {
            "run_id": run_id,
            "inputs": {k: media[k] for k in ("audio", "video", "reference") if media.get(k)},
            "jobs": {"SpeechDenoise": denoised, "CaptionExtraction": srt},
            "files": files,
            "noise_floor_dbfs": floor and {"input": floor.input_dbfs, "output": floor.output_dbfs},
            "captions": [text for _, text in cues],
            "expected_captions": media.get("cues"),
        }
        (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        summary = summary_text(out, files, cues, floor)
        (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
        print(summary)
        return {"output_dir": str(out), **files, "summary": str(out / "summary.txt")}

    publish(denoise.output, captions.output, media)


if __name__ == "__main__":
    dag_run = dag.test()
    print(f"DAG run {dag_run.run_id}: {dag_run.state}")
    raise SystemExit(0 if dag_run.state == "success" else 1)
