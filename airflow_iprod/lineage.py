"""Assets and OpenLineage for IProduction tasks.

:class:`JobLineageMixin` gives an operator its output alias (:mod:`airflow_iprod.assets.outlets`),
records the job's output files as asset events when the task succeeds, and answers the OpenLineage
provider's ``get_openlineage_facets_on_complete``:

* inputs: the job's ``oss://`` input (a media ID names no OSS object and gives no dataset);
* outputs: every file the job wrote;
* datasets are named as the ``oss`` asset scheme names them: namespace ``oss://<bucket>``, name the key;
* run facets: ``iproductionJob`` (JobId, API, FunctionName, JobParams as sent and as the algorithm
  ran them, status) and the standard ``externalQuery`` facet with the JobId.

Imported with the operators while DAGs are parsed: OpenLineage and the catalog are imported only
when lineage is asked for (by the OpenLineage listener, after the task ran).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from airflow_iprod.assets.outlets import add_output_alias, record_outputs

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

RUN_FACET = "iproductionJob"


class JobLineageMixin:
    """For an IProduction operator: outputs as asset events, and OpenLineage on completion."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        add_output_alias(self)

    def post_execute(self, context: Any, result: Any = None) -> None:
        # Airflow 3.3 calls post_execute(context) without the result: the operator keeps it as _result.
        super().post_execute(context, result)  # type: ignore[misc]
        record_outputs(self, context, result if result is not None else getattr(self, "_result", None))

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return operator_lineage(self)


def operator_lineage(operator: Any) -> OperatorLineage:
    """The lineage of the job ``operator`` ran: its input, its outputs and the job as a run facet."""
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    result = getattr(operator, "_result", None)
    result = result if isinstance(result, Mapping) else {}
    request = _request_of(operator)
    inputs = []
    if request is not None and request.input and request.input_type == "OSS":
        inputs.append(Dataset(**_dataset(request.input)))
    outputs = [Dataset(**_dataset(u)) for u in result.get("Outputs") or [] if str(u).startswith("oss://")]
    run_facets: dict[str, Any] = {}
    job_id = result.get("JobId") or getattr(operator, "_job_id", None)
    if job_id:
        api = result.get("Api") or operator.api
        run_facets[RUN_FACET] = _job_facet(operator, request, result, job_id)
        run_facets["externalQuery"] = ExternalQueryRunFacet(
            externalQueryId=str(job_id), source=f"alibabacloud-{'ice' if api == 'ice' else 'mps'}"
        )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _request_of(operator: Any) -> Any:
    """The submitted request; rebuilt from the rendered fields when the task resumed after deferring
    (a new process, where execute never ran). None when it cannot be rebuilt."""
    request = getattr(operator, "_request", None)
    if request is not None:
        return request
    try:
        return operator._build_request(operator._request_fields())
    except Exception as err:  # lineage never fails the task; it only loses the input
        operator.log.debug("No request for lineage: %s", err)
        return None


def _dataset(url: str) -> dict[str, str]:
    from airflow_iprod import catalog

    bucket, key = catalog.split_oss_url(url)  # oss:// and the https://bucket.oss-REGION form alike
    return {"namespace": f"oss://{bucket}", "name": key}


def _job_facet(operator: Any, request: Any, result: Mapping[str, Any], job_id: str) -> Any:
    sent = request.job_params if request is not None else None
    return _facet_class()(
        jobId=str(job_id),
        api=str(result.get("Api") or operator.api),
        functionName=str(result.get("FunctionName") or operator.function_name),
        jobParams=json.loads(sent) if isinstance(sent, str) else dict(sent or {}),
        effectiveJobParams=dict(request.params) if request is not None else {},
        status=result.get("Status"),
    )


@cache
def _facet_class() -> type:
    """The ``iproductionJob`` run facet (built on first use: OpenLineage is not imported at parse time)."""
    from airflow.providers.common.compat.openlineage.facet import RunFacet
    from attrs import define

    @define
    class IProductionJobRunFacet(RunFacet):
        jobId: str
        api: str
        functionName: str
        jobParams: dict[str, Any]  # as sent
        effectiveJobParams: dict[str, Any]  # as the algorithm ran them: defaults filled, aliases mapped
        status: str | None = None

    return IProductionJobRunFacet
