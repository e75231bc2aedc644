"""Write ``algorithms.pyi``: the static face of the operator classes ``algorithms.py`` builds at import time.

Type checkers and IDEs never run ``algorithms.py``, so without a stub they see neither
``SpeechDenoiseOperator`` nor its keywords. The stub is generated from the same classes the module
builds (their ``__signature__``), with the keywords that ``**kwargs`` forwards up the MRO spelled out
(``durable``, ``task_id``, ``retries`` ...), so a misspelt keyword is a type error, as it is a
``TypeError`` at run time. Refresh it after changing the catalog or the operator's arguments::

    python -m airflow_iprod.operators._stubgen          # rewrite algorithms.pyi
    python -m airflow_iprod.operators._stubgen --check  # exit 1 if it is stale
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

STUB_PATH = Path(__file__).with_name("algorithms.pyi")
COMMAND = "python -m airflow_iprod.operators._stubgen"
_INDENT = " " * 8

_KWARGS = "_BaseOperatorKwargs"  # the stub's TypedDict of the keywords **kwargs passes up the MRO
_LINE_LENGTH = 110  # pyproject's ruff line-length
_BUILTIN = frozenset(dir(__import__("builtins")))


class _Imports:
    """The import lines the stub needs, resolved from the modules that wrote each annotation."""

    def __init__(self) -> None:
        self.from_imports: dict[str, set[str]] = {}
        self.plain: set[str] = set()
        self._maps: dict[str, dict[str, tuple[str, str | None]]] = {}

    def add_annotation(self, text: str, module: str) -> None:
        for name in _root_names(text):
            if name in _BUILTIN:
                continue
            where = self._bindings(module).get(name)
            if where is None:
                raise LookupError(f"cannot tell where {name!r} (in {text!r}, from {module}) is defined")
            source, original = where
            if original is None:
                self.plain.add(source)
            else:
                self.from_imports.setdefault(source, set()).add(
                    original if original == name else f"{original} as {name}"
                )

    def _bindings(self, module: str) -> dict[str, tuple[str, str | None]]:
        """Every name ``module`` binds, incl. under ``if TYPE_CHECKING``: name -> (module, original)."""
        if module not in self._maps:
            mod = importlib.import_module(module)
            tree = ast.parse(inspect.getsource(mod))
            package = mod.__package__ or ""
            found: dict[str, tuple[str, str | None]] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    source = node.module or ""
                    if node.level:
                        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                        source = f"{base}.{source}" if source else base
                    for alias in node.names:
                        found.setdefault(alias.asname or alias.name, (source, alias.name))
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.asname:
                            found.setdefault(alias.asname, (f"{alias.name} as {alias.asname}", None))
                        else:  # ``import collections.abc`` binds ``collections``
                            found.setdefault(alias.name.split(".")[0], (alias.name, None))
            for node in tree.body:  # names defined in the module itself (type aliases, classes)
                for stmt in [node, *(node.body if isinstance(node, ast.If) else [])]:
                    for target in _defined_names(stmt):
                        found.setdefault(target, (module, target))
            self._maps[module] = found
        return self._maps[module]

    def add(self, module: str, *names: str) -> None:
        self.from_imports.setdefault(module, set()).update(names)

    def lines(self) -> list[str]:
        """Grouped and sorted as ruff's isort rules want: stdlib, third party, this package."""
        groups: dict[int, list[str]] = {0: [], 1: [], 2: []}

        def group(module: str) -> int:
            top = module.split(".")[0]
            return 0 if top in sys.stdlib_module_names else 2 if top == "airflow_iprod" else 1

        for m in sorted(self.plain):
            groups[group(m)].append(f"import {m}")
        for m, names in sorted(self.from_imports.items()):
            groups[group(m)].append(f"from {m} import {', '.join(sorted(names, key=_isort_key))}")
        return [line for g in (0, 1, 2) if groups[g] for line in [*groups[g], ""]][:-1]


def _isort_key(name: str) -> tuple[int, str]:
    # isort's default order within one import: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _defined_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    if isinstance(stmt, ast.ClassDef):
        return [stmt.name]
    return []


def _root_names(text: str) -> list[str]:
    """Identifiers an annotation expression starts from (``a.b.C[int] | None`` -> ``a``, ``int``)."""
    tree = ast.parse(text, mode="eval")
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
    return names


def _none_last(text: str) -> str:
    """``None | A | B`` -> ``A | B | None`` (the spelling ruff's RUF036 asks for); the rest verbatim."""
    expr = ast.parse(text, mode="eval").body
    parts: list[ast.expr] = []
    while isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        parts.insert(0, expr.right)
        expr = expr.left
    parts.insert(0, expr)
    is_none = [isinstance(p, ast.Constant) and p.value is None for p in parts]
    if not any(is_none) or is_none[-1]:
        return text
    kept = [ast.get_source_segment(text, p) or "" for p, n in zip(parts, is_none, strict=True) if not n]
    return " | ".join([*kept, "None"])


def _render(annotation: Any) -> str:
    """An annotation (source text, or a type object as JobParams keywords carry) as stub source."""
    if isinstance(annotation, str):
        return _none_last(annotation)
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_render(a) for a in typing.get_args(annotation))
    if annotation is list:
        return "list[Any]"
    if annotation is dict:
        return "dict[str, Any]"
    if isinstance(annotation, type) and annotation.__module__ == "builtins":
        return annotation.__name__
    raise TypeError(f"no stub spelling for annotation {annotation!r}")


def _forwarded_keywords(base: type) -> list[tuple[inspect.Parameter, str]]:
    """Keyword-only parameters that ``base.__init__``'s ``**kwargs`` reach, up to BaseOperator."""
    from airflow.sdk import BaseOperator

    out: list[tuple[inspect.Parameter, str]] = []
    for cls in base.__mro__[1:]:
        if "__init__" not in cls.__dict__:
            continue
        func = inspect.unwrap(cls.__dict__["__init__"])
        params = inspect.signature(func).parameters.values()
        out += [(p, func.__module__) for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        # BaseOperator's own **kwargs only exists to reject unknown names with a TypeError.
        if cls is BaseOperator or not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    return out


def _docstring_line(cls: type) -> str:
    summary = (cls.__doc__ or "").strip().splitlines()[0]
    if '"""' in summary or "\\" in summary or summary.endswith('"'):
        raise ValueError(f"{cls.__name__}: summary line needs escaping in a stub: {summary!r}")
    return summary


def render() -> str:
    """The full text of ``algorithms.pyi`` for the catalog and Airflow in this environment."""
    from airflow_iprod.operators import algorithms
    from airflow_iprod.operators.iproduction import IProductionJobOperator

    imports = _Imports()
    own_names = set(inspect.signature(IProductionJobOperator.__init__).parameters)
    kwargs_lines = [f"class {_KWARGS}(TypedDict, total=False):"]
    for param, module in _forwarded_keywords(IProductionJobOperator):
        if param.name in own_names:
            continue
        text = _render(param.annotation)
        imports.add_annotation(text, module)
        required = param.default is inspect.Parameter.empty
        kwargs_lines.append(f"    {param.name}: {f'Required[{text}]' if required else text}")
    base_module = IProductionJobOperator.__module__
    classes: list[str] = []
    operators = algorithms.all_operators()
    for function_name in sorted(operators):
        cls = operators[function_name]
        own = inspect.signature(cls.__init__).parameters
        lines = [
            f"class {cls.__name__}(IProductionJobOperator):",
            f'    """{_docstring_line(cls)}"""',
            "",
            "    function_name_fixed: ClassVar[str]",
            "    job_param_keywords: ClassVar[dict[str, str]]",
            "",
            "    def __init__(",
            "        self,",
            "        *,",
        ]
        seen: set[str] = set()
        for param in own.values():
            if param.kind is not inspect.Parameter.KEYWORD_ONLY:
                continue
            text = _render(param.annotation)
            if isinstance(param.annotation, str):
                imports.add_annotation(text, base_module)
            lines.append(f"{_INDENT}{param.name}: {text}{_default(param)},")
            seen.add(param.name)
        lines.append(f"{_INDENT}**kwargs: Unpack[{_KWARGS}],")
        lines.append("    ) -> None: ...")
        classes.append("\n".join(lines))

    imports.add("typing", "Any", "ClassVar", "Literal", "Required", "TypedDict", "Unpack", "overload")
    imports.add(base_module, "IProductionJobOperator")
    names = sorted(
        ["all_operators", "operator_for", *(f"{name}Operator" for name in operators)], key=_isort_key
    )
    functions = ["def kwarg_name(param_name: str) -> str: ..."]
    for fn in sorted(operators):
        line = f'def operator_for(function_name: Literal["{fn}"]) -> type[{fn}Operator]: ...'
        if len(line) > _LINE_LENGTH:  # split as ruff format splits it
            line = f'def operator_for(\n    function_name: Literal["{fn}"],\n) -> type[{fn}Operator]: ...'
        functions += ["@overload", line]
    functions += [
        "@overload",
        "def operator_for(function_name: str) -> type[IProductionJobOperator]: ...",
        "def all_operators() -> dict[str, type[IProductionJobOperator]]: ...",
    ]
    parts = [
        "\n".join(
            [
                f"# Generated by `{COMMAND}`: do not edit by hand.",
                "# algorithms.py builds these operator classes at import time, from the catalog; this is",
                "# their static description for type checkers and IDEs.",
                "# ruff: noqa: E501 - docstring summaries are the catalog's, one line each",
                "",
                *imports.lines(),
                "",
                "__all__ = [",
                *(f'    "{n}",' for n in names),
                "]",
            ]
        ),
        "\n".join(kwargs_lines),
        "\n".join(functions),
        *classes,
    ]
    return "\n\n".join(parts) + "\n"


def _default(param: inspect.Parameter) -> str:
    return "" if param.default is inspect.Parameter.empty else " = ..."


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args == ["--check"]:
        if STUB_PATH.exists() and STUB_PATH.read_text() == text:
            return 0
        print(f"{STUB_PATH} is stale: run `{COMMAND}` to refresh it", file=sys.stderr)
        return 1
    if args:
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    STUB_PATH.write_text(text)
    print(f"wrote {STUB_PATH} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
