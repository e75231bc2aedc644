"""The console's job pages: the filtered, paginated list and one job's request, outcome and files."""

from __future__ import annotations

import json
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.local.console.html import (
    REFRESH_S,
    ConsoleError,
    definition_list,
    esc,
    link,
    status_badge,
    table,
    url,
    when,
)
from airflow_iprod.local.console.job_queries import STATUSES, JobFilter, JobQueries
from airflow_iprod.local.console.outputs import Presign, render_file
from airflow_iprod.local.job_store import FINISHED, Job
from airflow_iprod.local.objects import ObjectStore

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
API_NAMES = {"ice": "ICE", "mts": "MPS"}
MAX_FILTER_CHARS = 128


def _function_names() -> list[str]:
    return sorted({spec.name for spec in catalog.all_specs()})


def _number(query: dict[str, str], name: str, default: int, top: int) -> int:
    text = query.get(name, "") or str(default)
    if not text.isdigit() or not 1 <= int(text) <= top:
        raise ConsoleError(400, f"{name}={text[:20]!r} is not valid: a whole number from 1 to {top}")
    return int(text)


def parse_list_query(query: dict[str, str]) -> tuple[JobFilter, int, int]:
    """The filter, page number and page size of a list URL; ConsoleError(400) naming a bad parameter."""
    status = query.get("status", "")
    if status and status not in STATUSES:
        raise ConsoleError(
            400, f"status={status!r} is not valid: one of {', '.join(STATUSES)}, or empty for every status"
        )
    function = query.get("function", "")
    if function and function not in _function_names():
        raise ConsoleError(
            400,
            f"function={function[:MAX_FILTER_CHARS]!r} is not valid: a FunctionName of the catalog "
            f"({', '.join(_function_names())}), or empty for every algorithm",
        )
    pipeline = query.get("pipeline", "")
    if len(pipeline) > MAX_FILTER_CHARS:
        raise ConsoleError(400, f"pipeline has {len(pipeline)} characters: a PipelineId has 1 to 128")
    page = _number(query, "page", 1, 10**9)
    return JobFilter(status, function, pipeline), page, _number(query, "per_page", PAGE_SIZE, MAX_PAGE_SIZE)


def _select(name: str, label: str, current: str, options: list[str]) -> str:
    items = [f'<option value=""{"" if current else " selected"}>All</option>']
    for value in options:
        chosen = " selected" if value == current else ""
        items.append(f'<option value="{esc(value)}"{chosen}>{esc(value)}</option>')
    return f'<label>{esc(label)}<select name="{esc(name)}">{"".join(items)}</select></label>'


def _filter_form(where: JobFilter, functions: list[str], pipelines: list[str], per_page: int) -> str:
    pipes = sorted(set(pipelines) | ({where.pipeline_id} if where.pipeline_id else set()))
    size = f'<input type="hidden" name="per_page" value="{per_page}">' if per_page != PAGE_SIZE else ""
    return (
        f'<form class="filters" method="get" action="{esc(url("/jobs"))}">{size}'
        + _select("status", "Status", where.status, list(STATUSES))
        + _select("function", "FunctionName", where.function_name, sorted(set(functions)))
        + _select("pipeline", "Pipeline", where.pipeline_id, pipes)
        + '<button type="submit">Filter</button>'
        + link(url("/jobs"), "Clear filters")
        + "</form>"
    )


def _job_row(job: Job) -> list[str]:
    return [
        link(url(f"/jobs/{job.job_id}"), job.job_id, "mono"),
        status_badge(job.status),
        esc(job.function_name),
        esc(API_NAMES.get(job.api, job.api)),
        esc(when(job.create_time)),
        esc(when(job.start_time)),
        esc(when(job.finish_time)),
        esc(job.pipeline_id),
        f'<span class="num">{esc(job.priority)}</span>',
    ]


def jobs_list(queries: JobQueries, query: dict[str, str], endpoint: str) -> tuple[str, bool]:
    """The body of the job list page, and whether a job on it has not finished yet."""
    where, page, per_page = parse_list_query(query)
    result = queries.page(where, (page - 1) * per_page, per_page)
    functions, pipelines = queries.choices()
    pages = max(1, -(-result.total // per_page))
    parts = [_filter_form(where, functions, pipelines, per_page)]
    noun = "job" if result.total == 1 else "jobs"
    parts.append(f'<p class="summary">{result.total} {noun} · newest first · page {page} of {pages}</p>')
    if result.jobs:
        headers = ["JobId", "Status", "FunctionName", "API", "Submitted (UTC)", "Started", "Finished"]
        rows = [_job_row(job) for job in result.jobs]
        parts.append(table([*headers, "Pipeline", "Priority"], rows, "jobs"))
    elif result.total == 0 and where == JobFilter():
        parts.append(
            '<p class="note">No jobs yet. Submit one through the ICE or MPS API at '
            f'<span class="mono">{esc(endpoint)}</span>.</p>'
        )
    elif result.total:
        parts.append(f'<p class="note">Page {page} is past the last page ({pages}).</p>')
    else:
        parts.append('<p class="note">No jobs match these filters.</p>')
    keep = {"status": where.status, "function": where.function_name, "pipeline": where.pipeline_id}
    if per_page != PAGE_SIZE:
        keep["per_page"] = str(per_page)
    pager = []
    if page > 1:
        pager.append(link(url("/jobs", **keep, page=page - 1), "← Newer"))
    if page < pages:
        pager.append(link(url("/jobs", **keep, page=page + 1), "Older →"))
    if pager:
        parts.append(f'<div class="pager">{" ".join(pager)}</div>')
    return "".join(parts), any(job.status not in FINISHED for job in result.jobs)


def _pretty(text: Any) -> str:
    """JSON text (or a value) indented for reading; text that is not JSON as it is."""
    if isinstance(text, str):
        try:
            text = json.loads(text)
        except ValueError:
            return text
    return json.dumps(text, indent=2, ensure_ascii=False, sort_keys=False)


def job_page(queries: JobQueries, store: ObjectStore, presign: Presign, job_id: str) -> tuple[str, str, bool]:
    """(title, body, unfinished) of one job's page; ConsoleError(404) when the engine has no such job."""
    job = queries.get(job_id)
    if job is None:
        raise ConsoleError(404, f"The engine has no job with JobId {job_id!r}.")
    took = (
        f"{job.finish_time - job.start_time:.2f} s"
        if job.finish_time is not None and job.start_time is not None
        else "-"
    )
    summary = [
        ("JobId", f'<span class="mono">{esc(job.job_id)}</span>'),
        ("Status", status_badge(job.status)),
        ("FunctionName", esc(job.function_name)),
        ("API", esc(API_NAMES.get(job.api, job.api))),
        ("Pipeline", esc(job.pipeline_id)),
        ("Priority", esc(job.priority)),
        ("Submitted (UTC)", esc(when(job.create_time))),
        ("Started", esc(when(job.start_time))),
        ("Finished", esc(when(job.finish_time))),
        ("Run time", esc(took)),
        ("Worker runs", esc(job.attempts)),
        ("Input", f'<span class="mono">{esc(job.input_url or "-")}</span>'),
        ("Output", f'<span class="mono">{esc(job.output_template or "-")}</span>'),
    ]
    if job.outputs.get("media_ids"):
        ids = ", ".join(job.outputs["media_ids"])
        summary.append(("Output media IDs", f'<span class="mono">{esc(ids)}</span>'))
    parts = [definition_list(summary)]
    if job.code or job.message:
        parts.append(
            '<h2>Error</h2><div class="error-box">'
            f'<strong class="mono">{esc(job.code or "")}</strong> {esc(job.message or "")}</div>'
        )
    parts.append("<h2>Result</h2>")
    if job.result is None:
        parts.append(
            f'<p class="note">No Result yet: the job has not finished (this page reloads every '
            f"{REFRESH_S} s).</p>"
        )
    else:
        parts.append(f'<pre class="result">{esc(_pretty(job.result))}</pre>')
    files = job.outputs.get("files", [])
    parts.append(f"<h2>Output files ({len(files)})</h2>")
    if files:
        parts.extend(render_file(f, store, presign) for f in files)
    else:
        parts.append('<p class="note">This job has no output files.</p>')
    if job.input_url:
        parts.append("<h2>Input</h2>" + render_file(job.input_url, store, presign, inline_text=False))
    parts.append(f'<h2>Request (as submitted)</h2><pre class="request">{esc(_pretty(job.request))}</pre>')
    return f"{job.function_name} job", "".join(parts), job.status not in FINISHED
