"""algorithms.pyi: the checked-in stub is what the generator writes today, and it says what the classes do."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from airflow_iprod.operators import _stubgen, algorithms

STUB = Path(algorithms.__file__).with_suffix(".pyi")


def _stub_classes() -> dict[str, ast.ClassDef]:
    tree = ast.parse(STUB.read_text())
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _init_keywords(node: ast.ClassDef) -> list[str]:
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert not init.args.args[1:] and init.args.vararg is None, f"{node.name}: keyword-only arguments only"
    return [a.arg for a in init.args.kwonlyargs]


def test_checked_in_stub_is_current():
    expected = _stubgen.render()
    assert STUB.exists(), f"{STUB} is missing: run `{_stubgen.COMMAND}` to create it"
    assert STUB.read_text() == expected, (
        f"{STUB.name} differs from what the catalog and operator arguments give today: "
        f"run `{_stubgen.COMMAND}` to refresh it, and commit the result"
    )
    assert _stubgen.main(["--check"]) == 0


def test_stub_declares_every_operator_with_its_runtime_keywords():
    classes = _stub_classes()
    operators = algorithms.all_operators()
    assert {f"{name}Operator" for name in operators} <= set(classes)
    for cls in operators.values():
        runtime = [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        stub = classes[cls.__name__]
        assert _init_keywords(stub) == runtime, cls.__name__
        assert ast.get_docstring(stub) == cls.__doc__.splitlines()[0]
        assert set(cls.job_param_keywords) <= set(runtime)  # the JobParams fields, as keywords
        assert "function_name" not in runtime  # fixed per class: passing it is a TypeError


def test_forwarded_keywords_cover_base_operator_and_nothing_else():
    """``**kwargs`` is typed with a TypedDict of what BaseOperator (and the mixin) accept: task_id is
    required, an unknown keyword is a type error as it is a TypeError at run time."""
    from airflow.sdk import BaseOperator

    kwargs_class = _stub_classes()["_BaseOperatorKwargs"]
    fields = {
        n.target.id: ast.unparse(n.annotation)
        for n in kwargs_class.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    base = inspect.signature(BaseOperator.__init__).parameters
    expected = {n for n, p in base.items() if p.kind is inspect.Parameter.KEYWORD_ONLY} | {"durable"}
    assert set(fields) == expected
    assert fields["task_id"] == "Required[str]"
    assert not any(v.startswith("Required[") for k, v in fields.items() if k != "task_id")


def test_stub_ships_with_a_py_typed_marker():
    # PEP 561: without the marker type checkers ignore an installed package's stubs and hints.
    assert (Path(algorithms.__file__).parents[1] / "py.typed").exists()
    assert '"SpeechDenoiseOperator"' in STUB.read_text().split("class ", 1)[0]  # in __all__


def test_check_mode_reports_a_stale_stub(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "algorithms.pyi"
    stale.write_text(STUB.read_text().replace("fps: int | None", "fps: str | None"))
    monkeypatch.setattr(_stubgen, "STUB_PATH", stale)
    assert _stubgen.main(["--check"]) == 1
    assert f"run `{_stubgen.COMMAND}` to refresh" in capsys.readouterr().err
