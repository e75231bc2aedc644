"""``airflow-iprod algorithms``: the catalog as a table or JSON (no network, no Airflow).

Without a name: every FunctionName with its API flavours, input kind and formats, output extension
and the placeholder its output path must hold. With a name: its JobParams per API and the shape of
its Result.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from airflow_iprod import catalog

# The command line says "mps" (the product's name); the catalog and the hook say "mts" (the SDK's).
API_LABELS = {catalog.ICE: "ICE", catalog.MTS: "MPS"}


def api_arg(value: str) -> str:
    """argparse type for ``--api``: ``ice`` or ``mps`` (``mts`` accepted too) -> the catalog's name."""
    try:
        return catalog.canonical_api(value)
    except catalog.ValidationError:
        raise argparse.ArgumentTypeError(f"--api={value!r} is not valid: ice or mps") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="one FunctionName: its JobParams and Result")
    parser.add_argument(
        "--api",
        type=api_arg,
        default=None,
        metavar="{ice,mps}",
        help="only the algorithms of this API (with NAME: only this API's JobParams)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    try:
        if args.name:
            data: Any = algorithm_detail(args.name, args.api)
            text = detail_text(data)
        else:
            data = [algorithm_row(s) for s in catalog.all_specs() if args.api is None or args.api in s.apis]
            text = table_text(data)
    except catalog.ValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else text)
    return 0


# ------------------------------------------------------------------ data


def _apis(apis: frozenset[str]) -> list[str]:
    return [API_LABELS[a] for a in catalog.APIS if a in apis]


def _input_formats(row: dict[str, Any]) -> str:
    parts = []
    if row["input_formats"]:
        parts.append("/".join(row["input_formats"]))
    if row["input_sample_rates"]:
        parts.append("/".join(f"{r // 1000} kHz" for r in row["input_sample_rates"]))
    return ", ".join(parts) or "any"


def algorithm_row(spec: catalog.AlgorithmSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "apis": _apis(spec.apis),
        "input": spec.input_kind,
        "input_required": spec.input_required,
        "input_formats": list(spec.input_formats) if spec.input_formats else None,
        "input_sample_rates": list(spec.input_rates) if spec.input_rates else None,
        "output_ext": spec.output_ext,
        "output_required": spec.output_required,
        "placeholder": "{" + spec.placeholder + "}" if spec.placeholder else None,
        "result_types": list(spec.result_types),
        "model_ids": sorted(spec.model_ids),
    }


def _allowed(param: catalog.Param) -> str | None:
    """Choices or range as a short text; None when the type says it all (or a check does)."""
    if param.choices is not None:
        return " | ".join(str(c) for c in param.choices)
    if param.min is not None and param.max is not None:
        return f"{param.min:g}..{param.max:g}"
    return None


def param_row(param: catalog.Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "type": param.type,
        "allowed": _allowed(param),
        "default": param.default,
        "required": param.required,
        "apis": _apis(param.apis),
        "description": param.description,
    }


def algorithm_detail(name: str, api: str | None) -> dict[str, Any]:
    if api is not None:
        spec = catalog.spec_for(name, api)
    else:
        spec = next((s for s in catalog.all_specs() if s.name == name), None)
        if spec is None:
            known = [s.name for s in catalog.all_specs()]
            raise catalog.ValidationError("NAME", name, f"one of {known}")
    params = spec.params_for(api) if api else [p for p in spec.params if p.apis & spec.apis]
    try:
        result = json.loads(spec.result_doc)
    except json.JSONDecodeError:  # an abbreviated example ("...") is shown as written
        result = spec.result_doc
    return {
        **algorithm_row(spec),
        "api": API_LABELS[api] if api else None,
        "params": [param_row(p) for p in params],
        "result_example": result,
    }


# ------------------------------------------------------------------ text


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def table_text(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            r["name"],
            ",".join(r["apis"]),
            r["input"] + ("" if r["input_required"] else " (optional)"),
            _input_formats(r),
            (r["output_ext"] or "none") + ("" if r["output_required"] else " (optional)"),
            r["placeholder"] or "",
        ]
        for r in rows
    ]
    headers = ["NAME", "API", "INPUT", "INPUT FORMATS", "OUTPUT", "PLACEHOLDER"]
    hint = "\n\n`airflow-iprod algorithms NAME` shows an algorithm's JobParams and Result."
    return _table(headers, body) + hint


def _value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) and value else json.dumps(value, ensure_ascii=False)


def detail_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['name']}: {data['title']}",
        f"  API:         {data['api'] or ', '.join(data['apis'])}",
        f"  input:       {data['input']} ({_input_formats(data)})"
        + ("" if data["input_required"] else "; optional"),
        f"  output:      {data['output_ext'] or 'no file'}"
        + ("" if data["output_required"] else "; optional"),
    ]
    if data["placeholder"]:
        types = f" ({', '.join(data['result_types'])})" if data["result_types"] else ""
        lines.append(f"  output path: must contain {data['placeholder']}: several files{types}")
    if data["model_ids"]:
        lines.append(f"  ModelId:     {', '.join(data['model_ids'])} (optional)")
    lines.append("")
    if data["params"]:
        show_api = data["api"] is None and any(len(p["apis"]) < len(data["apis"]) for p in data["params"])
        headers = ["JOBPARAM", "TYPE", "ALLOWED", "DEFAULT", "REQUIRED"] + (["API"] if show_api else [])
        rows = [
            [p["name"], p["type"], p["allowed"] or "", _value(p["default"]), "yes" if p["required"] else ""]
            + ([",".join(p["apis"])] if show_api else [])
            for p in data["params"]
        ]
        described = [[*r, p["description"]] for r, p in zip(rows, data["params"], strict=True)]
        lines.append(_table([*headers, "DESCRIPTION"], described))
    else:
        lines.append("JobParams: none")
    lines += ["", "Result (example): " + _value(data["result_example"])]
    return "\n".join(lines)
