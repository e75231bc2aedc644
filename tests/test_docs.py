"""The documentation site builds with warnings as errors, and its pages hold what they should: a page per
catalog algorithm with its JobParams, outputs and the README's local-engine figures, the API reference,
the how-tos, the architecture and the changelog."""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from airflow_iprod import catalog
from tests.airflow_env import REPO

DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sphinx-build -W --keep-going -b html docs OUT`` in a fresh process (scripts/build_docs.sh)."""
    tmp = tmp_path_factory.mktemp("docs")
    out = tmp / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    done = subprocess.run(
        [*cmd, "-d", str(tmp / "doctrees"), str(DOCS), str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"the docs build failed:\n{done.stderr[-4000:]}"
    return out


def _text(page: Path) -> str:
    """A page's visible text, tags dropped, entities decoded, whitespace collapsed."""
    body = page.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _readme_rows() -> dict[str, list[str]]:
    """The README's local-engine table, read here independently of the docs extension."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Algorithms in the local engine\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    table = {}
    for cells in rows[1:]:  # the header row is the first
        for name in cells[0].split(","):
            table[name.strip()] = [c.strip() for c in cells]
    return table


def _squeezed(text: str) -> str:
    """Text without Markdown emphasis and code marks or any whitespace (tags leave spaces around words)."""
    return "".join(text.replace("**", "").replace("`", "").split())


def test_every_algorithm_has_a_page_generated_from_the_catalog(site: Path) -> None:
    index = _text(site / "algorithms" / "index.html")
    for spec in catalog.all_specs():
        page = site / "algorithms" / f"{spec.name}.html"
        assert page.exists(), f"no page for {spec.name}"
        text = _text(page)
        assert spec.name in index
        assert f"{spec.name}: {spec.title}" in text
        assert f"{spec.name}Operator" in text
        for param in spec.params:
            if param.apis & spec.apis:
                assert param.name in text, f"{spec.name} page lacks JobParams.{param.name}"
                if param.choices:
                    assert all(str(c) in text for c in param.choices)
        if spec.output_ext:
            assert spec.output_ext in text
        if spec.placeholder:
            assert "{" + spec.placeholder + "}" in text


def test_pages_show_what_the_catalog_checks(site: Path) -> None:
    cover = _text(site / "algorithms" / "Cover.html")
    assert ".gif Model is gif" in cover  # the JobParams value that changes the output's extension
    fps = _text(site / "algorithms" / "CaptionExtraction.html")
    assert "fps fps integer 2 to 10 5 no ICE/MPS" in fps  # field, keyword, type, range, default
    delogo = _text(site / "algorithms" / "VideoDelogo.html")
    assert "LogoModel logo_model" in delogo and "On MPS, LogoModel is always tv,internet" in delogo
    tts = _text(site / "algorithms" / "TextToSpeech.html")
    assert 'text = "Hello from Airflow."' in tts  # the required field, in the example


def test_local_engine_figures_are_the_readmes(site: Path) -> None:
    rows = _readme_rows()
    for spec in catalog.all_specs():
        cells = rows[spec.name]
        text = _squeezed(_text(site / "algorithms" / f"{spec.name}.html"))
        for cell in cells[2:]:  # implementation, measured quality, how it differs
            if cell:
                assert _squeezed(cell) in text, f"{spec.name} page lacks the README's {cell[:40]!r}"


def test_api_reference_documents_the_provider(site: Path) -> None:
    page = (site / "api.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'<dt class="sig sig-object py" id="([\w.]+)"', page))
    for name in (
        "airflow_iprod.operators.iproduction.IProductionJobOperator",
        "airflow_iprod.hooks.iproduction.IProductionHook",
        "airflow_iprod.triggers.iproduction.IProductionJobTrigger",
        "airflow_iprod.sensors.iproduction.IProductionJobSensor",
        "airflow_iprod.catalog.request.SubmitRequest",
        *(f"airflow_iprod.operators.algorithms.{s.name}Operator" for s in catalog.all_specs()),
    ):
        assert name in documented, name
    text = _text(site / "api.html")
    assert ":param" not in text and ".. py:" not in text  # docstrings rendered, not shown as source
    assert "Parameters : function_name" in text  # the operator's field list, rendered


def test_site_has_the_guides_architecture_and_changelog(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    for page, title in (
        ("howto/chaining", "Chaining jobs"),
        ("howto/mapping", "dynamic task mapping"),
        ("howto/local-engine", "Testing your DAGs with the local engine"),
        ("howto/outputs", "ObjectStoragePath"),
        ("architecture", "airflow-iprod architecture"),
        ("changelog", "Changelog"),
        ("api", "API reference"),
    ):
        assert f'href="{page}.html"' in index, page
        assert title in _text(site / f"{page}.html")
    assert "bash scripts/demo.sh" in _text(site / "index.html")


# ------------------------------------------------------------------ the generator's own checks


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "iprod_algorithm_pages", DOCS / "_ext/iprod_algorithm_pages.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


README_TABLE = """# x

## Algorithms in the local engine

Intro.

| FunctionName | API | Local implementation |
|---|---|---|
| Cover | ICE, MPS | frames |
| TextToSpeech, AsyncTextToSpeech | MPS | espeak |

## Layout
"""


def test_readme_table_parser() -> None:
    ext = _extension()
    table = ext.parse_local_engine_table(README_TABLE)
    assert table["Cover"]["Local implementation"] == "frames"
    assert table["AsyncTextToSpeech"] == table["TextToSpeech"]
    assert set(table) == {"Cover", "TextToSpeech", "AsyncTextToSpeech"}
    with pytest.raises(ext.ReadmeTableError, match="no '## Algorithms in the local engine' section"):
        ext.parse_local_engine_table("# x\n\n## Other\n")
    with pytest.raises(ext.ReadmeTableError, match="has 2 cells"):
        ext.parse_local_engine_table(README_TABLE.replace("| Cover | ICE, MPS | frames |", "| Cover | x |"))


def test_generator_warns_about_a_table_out_of_step_with_the_catalog(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An algorithm the README's table misses, or a row naming no algorithm, fails a -W build."""
    readme = tmp_path / "README.md"
    readme.write_text(README_TABLE.replace("| Cover |", "| Covers |"), encoding="utf-8")
    (tmp_path / "docs").mkdir()
    with caplog.at_level("WARNING"):
        names = _extension().generate(tmp_path / "docs", readme)
    assert names == [s.name for s in catalog.all_specs()]
    assert sorted(p.stem for p in (tmp_path / "docs/algorithms").glob("*.md")) == sorted([*names, "index"])
    warnings = [r.getMessage() for r in caplog.records]
    assert any("names 'Covers', which the catalog does not have" in w for w in warnings)
    assert any("Cover runs in the local engine but has no row" in w for w in warnings)
