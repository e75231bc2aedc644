"""The flagship DAG end to end on the local engine: real denoising, real caption OCR, real files."""

from __future__ import annotations

import difflib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.airflow_env import REPO

pytestmark = pytest.mark.slow


def _load_flagship():
    path = REPO / "dags" / "denoise_then_captions.py"
    spec = importlib.util.spec_from_file_location("denoise_then_captions", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def _srt_lines(text: str) -> list[str]:
    blocks = [b.strip().splitlines() for b in text.strip().split("\n\n") if b.strip()]
    return [" ".join(b[2:]) for b in blocks if len(b) >= 3]


def test_denoise_then_captions(run_dag, local_engine, make_conn, tmp_path):
    conn = make_conn(local_engine, "iprod_flagship")
    dag_run = run_dag(_load_flagship(), conn_id=conn, bucket="media", output_dir=str(tmp_path))
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states

    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    jobs = report["jobs"]
    assert jobs["SpeechDenoise"]["Status"] == "Success" and jobs["CaptionExtraction"]["Status"] == "Success"

    # captions: every burnt-in line read back (fuzzy: OCR may slip a character)
    expected = [cue[2] for cue in report["expected_captions"]]
    got = _srt_lines(Path(report["files"]["captions"]).read_text())
    for line in expected:
        best = max((difflib.SequenceMatcher(None, line.lower(), g.lower()).ratio() for g in got), default=0)
        assert best >= 0.85, (line, got)

    # the printed summary: every caption line and the noise-floor figure
    summary = (run_dir / "summary.txt").read_text()
    assert all(cue[2] in summary for cue in report["expected_captions"]), summary
    floor = report["noise_floor_dbfs"]
    assert floor["input"] - floor["output"] >= 10.0 and "dB lower" in summary

    # audio: the noise floor in the pauses drops, the speech keeps its level, SI-SDR rises. The
    # reference is the clean narration the DAG itself generated and uploaded (a regenerated talk is
    # not one: espeak's output differs between calls in a process, which made SI-SDR look negative).
    from tests.mediagen.metrics import si_sdr

    def stored(url: str) -> np.ndarray:
        bucket, key = url.removeprefix("oss://").split("/", 1)
        audio, rate = sf.read(local_engine.engine.objects.path_for(bucket, key))
        assert rate == 16000
        return audio

    clean, noisy = stored(report["inputs"]["reference"]), stored(report["inputs"]["audio"])
    cleaned, out_rate = sf.read(report["files"]["clean_audio"])
    rate = 16000
    assert out_rate == rate and len(noisy) == len(clean) and abs(len(cleaned) - len(clean)) <= rate * 0.05
    cleaned = cleaned[: len(clean)]
    speech = np.zeros(len(clean), bool)
    for start, end, _ in report["expected_captions"]:
        speech[int((start - 0.1) * rate) : int((end + 0.1) * rate)] = True

    def energy(x: np.ndarray, mask: np.ndarray) -> float:
        return float(np.mean(x[: len(mask)][mask] ** 2))

    floor_drop = 10 * np.log10(energy(noisy, ~speech) / energy(cleaned, ~speech))
    retention = 10 * np.log10(energy(cleaned, speech) / energy(clean, speech))
    sdr_in, sdr_out = si_sdr(clean, noisy), si_sdr(clean, cleaned)
    print(
        f"noise floor in pauses -{floor_drop:.1f} dB, speech level {retention:+.1f} dB, "
        f"SI-SDR {sdr_in:.1f} -> {sdr_out:.1f} dB"
    )
    assert floor_drop >= 10.0
    assert abs(retention) <= 3.0
    assert abs(sdr_in - 5.0) < 0.5  # the talk is generated at 5 dB SNR: the reference matches the input
    assert sdr_out - sdr_in >= 6.0
