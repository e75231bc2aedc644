"""One operator per algorithm, generated from the catalog.

``CaptionExtractionOperator(input=..., output=..., lang="en", fps=5)`` is
``IProductionJobOperator(function_name="CaptionExtraction", job_params={"lang": "en", "fps": 5}, ...)``
with the JobParams fields as typed keyword arguments (snake_case: ``LogoModel`` -> ``logo_model``).
The classes are built from ``catalog.all_specs()`` (each on first import by name), so a new catalog
entry is a new operator with no hand-written copy to drift. Import them by name::

    from airflow_iprod.operators.algorithms import SpeechDenoiseOperator, CaptionExtractionOperator
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.operators.iproduction import IProductionJobOperator, is_literal

_PY_TYPES: dict[str, Any] = {"integer": int, "number": float, "string": str, "list": list, "boolean": bool}
_BASE_KWARGS = frozenset(inspect.signature(IProductionJobOperator.__init__).parameters)


def kwarg_name(param_name: str) -> str:
    """JobParams field -> Python keyword: ``LogoModel`` -> ``logo_model``, ``fps`` -> ``fps``."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", param_name).lower()
    return f"param_{snake}" if snake in _BASE_KWARGS else snake


def _merge_params(spec_name: str, job_params: Any, typed: dict[str, Any]) -> Any:
    if not typed:
        return job_params
    if job_params is None or job_params == "":
        return typed
    if isinstance(job_params, str) and is_literal(job_params):
        job_params = catalog.parse_job_params(job_params)
    if not isinstance(job_params, Mapping):
        raise catalog.ValidationError(
            "job_params",
            job_params,
            f"a dict (or no job_params) when {spec_name} fields are also given as keywords {sorted(typed)}",
        )
    clash = sorted(set(job_params) & set(typed))
    if clash:
        raise catalog.ValidationError(
            "job_params", dict(job_params), f"no field also given as a keyword: {clash}"
        )
    return {**job_params, **typed}


def _make_operator(spec: catalog.AlgorithmSpec) -> type[IProductionJobOperator]:
    default_api = catalog.ICE if catalog.ICE in spec.apis else catalog.MTS
    fields = {}  # keyword -> JobParams field name (first spelling wins; aliases keep their own)
    for param in spec.params:
        fields.setdefault(kwarg_name(param.name), param)

    def __init__(self: IProductionJobOperator, *, job_params: Any = None, **kwargs: Any) -> None:
        if "function_name" in kwargs:
            raise TypeError(f"{type(self).__name__} always runs {spec.name}; do not pass function_name")
        typed = {p.name: kwargs.pop(k) for k, p in fields.items() if kwargs.get(k) is not None}
        for k in fields:
            kwargs.pop(k, None)
        kwargs.setdefault("api", default_api)
        IProductionJobOperator.__init__(
            self, function_name=spec.name, job_params=_merge_params(spec.name, job_params, typed), **kwargs
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    base = inspect.signature(IProductionJobOperator.__init__)
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        p.replace(default=default_api) if p.name == "api" else p
        for p in base.parameters.values()
        if p.kind == keyword and p.name != "function_name"
    ]
    params += [
        inspect.Parameter(k, keyword, default=None, annotation=_PY_TYPES.get(p.type, Any) | None)
        for k, p in fields.items()
    ]
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD, annotation=Any))
    __init__.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]

    name = f"{spec.name}Operator"
    __init__.__qualname__ = f"{name}.__init__"
    __init__.__doc__ = f"Build a {spec.name} job task (see the class docstring)."
    return type(
        name,
        (IProductionJobOperator,),
        {
            "__init__": __init__,
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": _docstring(spec, default_api, fields),
            "function_name_fixed": spec.name,
            "job_param_keywords": {k: p.name for k, p in fields.items()},
        },
    )


def _docstring(spec: catalog.AlgorithmSpec, default_api: str, fields: dict[str, catalog.Param]) -> str:
    apis = "/".join(sorted(a.upper() for a in spec.apis))
    lines = [
        f"{spec.title} (``FunctionName={spec.name}``, {apis}; default ``api={default_api!r}``).",
        "",
        f"Input: {spec.input_kind}"
        + (f" ({', '.join(spec.input_formats)})" if spec.input_formats else "")
        + (f" at {' or '.join(str(r) for r in spec.input_rates)} Hz" if spec.input_rates else "")
        + ".",
    ]
    if spec.output_ext:
        lines.append(
            f"Output: {spec.output_ext}"
            + (f"; the path must contain {{{spec.placeholder}}}" if spec.placeholder else "")
            + (f" ({', '.join(spec.result_types)})" if spec.result_types else "")
            + "."
        )
    else:
        lines.append("Output: none (the result comes back in ``Result``).")
    if fields:
        lines += ["", "JobParams as keyword arguments:", ""]
        for k, p in fields.items():
            bits = [p.type]
            if p.choices:
                bits.append(f"one of {list(p.choices)}")
            if p.min is not None or p.max is not None:
                bits.append(f"range [{p.min:g}, {p.max:g}]")
            if p.default not in (None, ""):
                bits.append(f"default {json.dumps(p.default)}")
            only = f" ({'/'.join(sorted(p.apis)).upper()} only)" if p.apis != frozenset(catalog.APIS) else ""
            lines.append(f":param {k}: ``{p.name}`` — {p.description} [{'; '.join(bits)}]{only}")
    lines += ["", "Every other argument is IProductionJobOperator's."]
    return "\n".join(lines)


_BUILT: dict[str, type[IProductionJobOperator]] = {}


def operator_for(function_name: str) -> type[IProductionJobOperator]:
    """The operator class of one algorithm (built on first use, then cached)."""
    cls = _BUILT.get(function_name)
    if cls is None:
        spec = next((s for s in catalog.all_specs() if s.name == function_name), None)
        if spec is None:
            raise catalog.ValidationError("FunctionName", function_name, "a catalog algorithm")
        cls = _BUILT[function_name] = _make_operator(spec)
        globals()[cls.__name__] = cls
    return cls


def all_operators() -> dict[str, type[IProductionJobOperator]]:
    """Every algorithm's operator class, by FunctionName."""
    return {spec.name: operator_for(spec.name) for spec in catalog.all_specs()}


_NAMES = {f"{spec.name}Operator": spec.name for spec in catalog.all_specs()}
__all__ = ["all_operators", "operator_for", *sorted(_NAMES)]


def __getattr__(name: str) -> Any:
    # Classes are built when first imported by name: a DAG that uses two algorithms pays for two,
    # not for every algorithm in the catalog (DAG parse time).
    if name in _NAMES:
        return operator_for(_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
