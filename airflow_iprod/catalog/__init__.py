"""Every IProduction algorithm, its JobParams, inputs, outputs and Result, and the submit request, for
both APIs.

The single source of truth shared by the provider (validation before any network call), the CLI and
the local engine (validation like the cloud at Submit). Pure Python: it is imported while DAGs are
parsed, so nothing heavy may be imported here.

* ``params``: field checkers and ``ValidationError``;
* ``specs``: the algorithm table (``AlgorithmSpec``), JobParams validation, Result parsing;
* ``request``: ``SubmitRequest``, every submit field defined once;
* ``results``: output placeholders, job statuses, Result parsers.
"""

from airflow_iprod.catalog.params import (
    API_ALIASES,
    APIS,
    ICE,
    MTS,
    MissingField,
    Param,
    ValidationError,
    canonical_api,
    split_oss_url,
)
from airflow_iprod.catalog.request import RequestField, SubmitRequest, field_for_label, request_fields
from airflow_iprod.catalog.results import (
    PLACEHOLDERS,
    STATUSES,
    TERMINAL_STATUSES,
    expand_placeholders,
    normalize_status,
)
from airflow_iprod.catalog.specs import (
    DETEXT_NEW_MODEL,
    AlgorithmSpec,
    all_specs,
    describe,
    names,
    parse_job_params,
    parse_result,
    spec_for,
    validate_job_params,
)

__all__ = [
    "APIS",
    "API_ALIASES",
    "DETEXT_NEW_MODEL",
    "ICE",
    "MTS",
    "PLACEHOLDERS",
    "STATUSES",
    "TERMINAL_STATUSES",
    "AlgorithmSpec",
    "MissingField",
    "Param",
    "RequestField",
    "SubmitRequest",
    "ValidationError",
    "all_specs",
    "canonical_api",
    "describe",
    "expand_placeholders",
    "field_for_label",
    "names",
    "normalize_status",
    "parse_job_params",
    "parse_result",
    "request_fields",
    "spec_for",
    "split_oss_url",
    "validate_job_params",
]
