"""Every IProduction task records the files its job wrote as asset events.

* Each task has an ``AssetAlias`` outlet named ``iprod/<dag_id>/<task_id>``. On success the task adds
  one event per output file (``Asset("oss://bucket/key")``) through it, and through any alias the DAG
  author declared in ``outlets``. The output keys usually differ from run to run (``{source}``,
  ``{timestamp}``, run ids), so the assets are created as the files appear; a DAG scheduled on the
  alias runs after each job.
* An ``oss://`` ``Asset`` the author declared in ``outlets`` gets its event from Airflow itself; the
  task only adds the job to the event's extra, and warns when the job wrote nothing under it.

Imported while DAGs are parsed: Airflow's asset classes are imported only inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import AssetAlias

ALIAS_PREFIX = "iprod/"


def output_alias_name(dag_id: str, task_id: str) -> str:
    # '/' cannot occur in a dag_id or task_id, so the name is unambiguous
    return f"{ALIAS_PREFIX}{dag_id}/{task_id}"


def output_alias(dag_id: str, task_id: str) -> AssetAlias:
    """The alias through which task ``task_id`` of DAG ``dag_id`` records its output files."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=output_alias_name(dag_id, task_id))


def add_output_alias(operator: Any) -> None:
    """Give ``operator`` its output alias once it belongs to a DAG (at construction when built inside
    one; at run time otherwise, e.g. for mapped tasks, which Airflow builds per map index)."""
    if not operator.has_dag():
        return
    name = output_alias_name(operator.dag_id, operator.task_id)
    if not any(getattr(o, "name", None) == name and _is_alias(o) for o in operator.outlets):
        operator.outlets.append(output_alias(operator.dag_id, operator.task_id))


def event_extra(operator: Any, result: Mapping[str, Any]) -> dict[str, Any]:
    """What each event carries: the job, and the connection that reads its files (an id, no secret)."""
    return {
        "JobId": result.get("JobId"),
        "FunctionName": result.get("FunctionName"),
        "Api": result.get("Api"),
        "conn_id": getattr(operator, "conn_id", None),
    }


def covers(declared: str, produced: str) -> bool:
    """A declared ``oss://`` asset covers a produced file when it is that file or a prefix folder of it."""
    declared = declared.rstrip("/")
    return produced == declared or produced.startswith(declared + "/")


def record_outputs(operator: Any, context: Mapping[str, Any], result: Any) -> list[str]:
    """Add the job's output files to the task's outlet events; returns the files recorded."""
    from airflow.sdk import Asset

    if not isinstance(result, Mapping) or result.get("Status") != "Success":
        return []  # wait_for_completion=False: the job has written nothing yet
    add_output_alias(operator)
    outputs = [u for u in result.get("Outputs") or [] if isinstance(u, str) and u.startswith("oss://")]
    extra = event_extra(operator, result)
    events = context["outlet_events"]
    recorded: list[str] = []
    for outlet in operator.outlets:
        if _is_alias(outlet):
            for url in outputs:
                try:
                    asset = Asset(uri=url)
                except ValueError as err:  # a key Airflow cannot hold as a URI: skipped, said why
                    operator.log.warning("Output %s is not recorded as an asset: %s", url, err)
                    continue
                events[outlet].add(asset, extra=extra)
                if url not in recorded:
                    recorded.append(url)
        elif isinstance(outlet, Asset) and outlet.uri.startswith("oss://"):
            produced = [u for u in outputs if covers(outlet.uri, u)]
            events[outlet].extra.update({**extra, "Outputs": produced})
            if not produced:
                operator.log.warning(
                    "Declared outlet %s: job %s wrote nothing under it (its outputs: %s)",
                    outlet.uri,
                    result.get("JobId"),
                    outputs,
                )
    return recorded


def _is_alias(outlet: Any) -> bool:
    from airflow.sdk import AssetAlias

    return isinstance(outlet, AssetAlias)
