"""The structure docs/architecture.md describes, checked: no import cycles (counting imports under
TYPE_CHECKING and inside functions), no hand-written module over 600 lines, and the submit fields'
wire names spelled only where SubmitRequest defines them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from airflow_iprod import catalog

PACKAGE = Path(catalog.__file__).resolve().parents[1]
GENERATED = {"operators/algorithms.pyi"}
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every airflow_iprod module ``name`` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.add(target if target in MODULES else base)
    return {m for m in out if m in MODULES and m != name}


def _area(name: str) -> str:
    """``airflow_iprod.hooks.iproduction`` -> ``hooks``; the package itself -> ``""``."""
    return name.split(".")[1] if "." in name else ""


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_no_two_modules_import_each_other() -> None:
    # Tarjan-free check: a module that can reach itself through imports is in a cycle.
    cycles = []
    for start in GRAPH:
        seen, todo = set(), list(GRAPH[start])
        while todo:
            node = todo.pop()
            if node == start:
                cycles.append(start)
                break
            if node not in seen:
                seen.add(node)
                todo.extend(GRAPH[node])
    assert not cycles, f"modules in an import cycle: {sorted(cycles)}"


def test_engine_never_imports_airflow_or_the_provider() -> None:
    provider_side = {"hooks", "operators", "sensors", "triggers", "links", "cli", "job_outcome"}
    for name, path in MODULES.items():
        if not name.startswith("airflow_iprod.local") or name.endswith("__main__"):
            continue  # ``python -m airflow_iprod.local`` is a shortcut to the CLI's ``local`` command
        text = path.read_text(encoding="utf-8")
        assert "import airflow\n" not in text and "from airflow." not in text, name
        assert not {_area(m) for m in GRAPH[name]} & provider_side, (name, GRAPH[name])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_hand_written_modules_stay_small(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines"


def test_submit_wire_names_are_spelled_only_in_the_request_model() -> None:
    """The provider side (hook, operators, sensor, trigger, CLI) never lists submit fields itself."""
    wire = {p for f in catalog.request_fields() for p in (f.ice, f.mts) if p and "." in p}
    wire |= {"ScheduleConfig", "NotifyUrl", "ScheduleParams", "OutputUrl", "TemplateId", "PipelineId"}
    offenders = []
    for name, path in MODULES.items():
        if _area(name) not in {"hooks", "operators", "sensors", "triggers", "cli", "links"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in wire:
                offenders.append(f"{name}:{node.lineno} {node.value!r}")
    assert not offenders
