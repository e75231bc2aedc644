"""OpenLineage for a real task: the OpenLineage provider's own listener, configured with the OpenLineage
client's file transport, sees a DAG run on the local engine; we read the events it wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _clear_openlineage_config() -> None:
    from airflow.providers.openlineage import conf

    for name in dir(conf):
        clear = getattr(getattr(conf, name), "cache_clear", None)
        if clear is not None:
            clear()


@pytest.fixture
def lineage_events(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The provider's listener, registered with the task runner's listener manager (as its plugin is
    when OpenLineage is configured at startup), writing events as JSON lines to the returned file."""
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener
    from airflow.sdk.listener import get_listener_manager

    # Built first, with the session's own (disabled) OpenLineage config: else the provider's plugin,
    # imported now, would register its listener next to ours and every event would come twice.
    manager = get_listener_manager()
    path = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(path), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "iprod-tests")
    # emit in a thread, not a forked child of the test process; a loaded CI machine may be slow
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT", "120")
    _clear_openlineage_config()
    listener = OpenLineageListener()
    assert not any(isinstance(p, OpenLineageListener) for p in manager.pm.get_plugins())
    manager.add_listener(listener)
    try:
        yield path
    finally:
        manager.pm.unregister(listener)
        monkeypatch.undo()
        _clear_openlineage_config()


def _task_event(path: Path, event_type: str, task: str) -> dict[str, Any]:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    found = [e for e in events if e["eventType"] == event_type and e["job"]["name"].endswith(f".{task}")]
    assert len(found) == 1, [(e["eventType"], e["job"]["name"]) for e in events]
    return found[0]


def test_complete_events_carry_the_jobs(lineage_events, run_dag, local_engine, upload, iprod_conn, noisy_wav):
    from tests.assets.test_outlets import _asset_dags

    dags = _asset_dags()
    src = upload(noisy_wav, "lineage/in/talk.wav")
    text = "Lineage for a spoken line."
    dag_run = run_dag(dags.lineage, conn=iprod_conn, src=src, out="oss://media/lineage/out", text=text)
    assert dag_run.state == "success", [(t.task_id, t.state) for t in dag_run.get_task_instances()]

    def datasets(event: dict[str, Any], kind: str) -> list[tuple[str, str]]:
        return [(d["namespace"], d["name"]) for d in event[kind]]

    # ICE: the input object and the output file; no JobParams
    denoise = _task_event(lineage_events, "COMPLETE", "denoise")
    assert (denoise["job"]["namespace"], denoise["job"]["name"]) == ("iprod-tests", f"{dags.LINEAGE}.denoise")
    assert datasets(denoise, "inputs") == [("oss://media", "lineage/in/talk.wav")]
    assert datasets(denoise, "outputs") == [("oss://media", "lineage/out/talk.wav")]
    facet = denoise["run"]["facets"]["iproductionJob"]
    assert local_engine.engine.jobs.get(facet["jobId"]).function_name == "SpeechDenoise"  # the job that ran
    assert {k: facet[k] for k in ("api", "functionName", "jobParams", "effectiveJobParams", "status")} == {
        "api": "ice",
        "functionName": "SpeechDenoise",
        "jobParams": {},
        "effectiveJobParams": {},  # SpeechDenoise takes none
        "status": "Success",
    }
    assert facet["_schemaURL"].startswith("https://openlineage.io/spec/")
    external = denoise["run"]["facets"]["externalQuery"]
    assert (external["externalQueryId"], external["source"]) == (facet["jobId"], "alibabacloud-ice")

    # MPS: no input object; the WAV found by listing (MPS Query lists no files); JobParams as sent
    # and as the algorithm ran them (defaults filled)
    speak = _task_event(lineage_events, "COMPLETE", "speak")
    facet = speak["run"]["facets"]["iproductionJob"]
    job = local_engine.engine.jobs.get(facet["jobId"])
    assert datasets(speak, "inputs") == []
    (output,) = datasets(speak, "outputs")
    assert output[0] == "oss://media"
    assert output[1].startswith("lineage/out/tts-") and output[1].endswith(".wav")
    assert local_engine.engine.objects.path_for("media", output[1]).stat().st_size > 1000  # a real WAV
    assert (facet["api"], facet["functionName"], job.function_name) == ("mts", "TextToSpeech", "TextToSpeech")
    assert facet["jobParams"] == {"text": text, "speech_rate": 1.2}
    assert facet["effectiveJobParams"] == {
        "text": text,
        "voice": "en-us",
        "speech_rate": 1.2,
        "volume": 50,
        "format": "wav",
    }
    assert speak["run"]["facets"]["externalQuery"]["source"] == "alibabacloud-mps"
