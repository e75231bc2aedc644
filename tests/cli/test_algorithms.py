"""``airflow-iprod algorithms``: the catalog as a table and as JSON, offline, through the real entry."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_iprod import catalog
from airflow_iprod.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_lists_every_algorithm_with_its_apis(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "algorithms")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line and not line.startswith("`")}
    assert set(rows) == {s.name for s in catalog.all_specs()}
    assert rows["SpeechDenoise"].split()[1:3] == ["ICE", "audio"]
    assert "wav, 16 kHz/48 kHz" in rows["SpeechDenoise"]
    assert rows["Cover"].split()[1] == "ICE,MPS" and rows["Cover"].endswith("{sequenceId}")
    assert rows["ImageMatting"].split()[1] == "MPS"

    code, out, _ = _run(capsys, "algorithms", "--api", "mps", "--json")
    names = [r["name"] for r in json.loads(out)]
    assert names == catalog.names(catalog.MTS)
    assert "SpeechDenoise" not in names and "TextToSpeech" in names


def test_ice_algorithm_detail(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "algorithms", "CaptionExtraction", "--api", "ice")
    assert code == 0
    fps = next(line for line in out.splitlines() if line.startswith("fps "))
    assert fps.split()[:4] == ["fps", "integer", "2..10", "5"]
    assert "ch | en | ch_ml" in out

    code, out, _ = _run(capsys, "algorithms", "Cover", "--json")
    data = json.loads(out)
    assert data["apis"] == ["ICE", "MPS"] and data["placeholder"] == "{sequenceId}"
    assert data["params"] == [
        {
            "name": "Model",
            "type": "string",
            "allowed": None,
            "default": "",
            "required": False,
            "apis": ["ICE", "MPS"],
            "description": "'gif' for animated covers; empty for PNG stills.",
        }
    ]
    assert data["result_example"][0]["Url"].startswith("oss://")  # the Result shape, parsed


def test_mps_only_algorithm_detail(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "algorithms", "TextToSpeech", "--api", "mps", "--json")
    assert code == 0
    data = json.loads(out)
    params = {p["name"]: p for p in data["params"]}
    assert data["apis"] == ["MPS"] and data["input_required"] is False and data["output_ext"] == ".wav"
    assert params["text"]["required"] is True
    assert params["speech_rate"]["allowed"] == "0.5..2" and params["speech_rate"]["default"] == 1.0
    assert params["format"]["allowed"] == "wav | mp3"
    assert set(data["result_example"]) == {"Duration", "Voice", "SampleRate"}

    code, out, _ = _run(capsys, "algorithms", "TextToSpeech")
    assert code == 0 and "text         string                       yes" in out

    # one API's view: the MPS name of the delogo boxes, not ICE's
    _, out, _ = _run(capsys, "algorithms", "VideoDelogo", "--api", "mps", "--json")
    assert [p["name"] for p in json.loads(out)["params"]] == ["Logo"]


def test_unknown_names_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "algorithms", "TextToSpeech", "--api", "ice")
    assert code == 2 and out == ""
    assert "FunctionName='TextToSpeech'" in err and "only in the MTS API" in err
    code, _, err = _run(capsys, "algorithms", "NoSuchThing")
    assert code == 2 and "NAME='NoSuchThing'" in err and "SpeechDenoise" in err
    with pytest.raises(SystemExit) as exit_:
        main(["algorithms", "--api", "oss"])
    assert exit_.value.code == 2
    assert "--api='oss' is not valid: ice or mps" in capsys.readouterr().err


def test_importing_the_cli_imports_no_airflow() -> None:
    code = (
        "import sys, airflow_iprod.cli\n"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', 'alibabacloud'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
