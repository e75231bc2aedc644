"""Apache Airflow provider for Alibaba Cloud intelligent production (IProduction) jobs.

Kept import-light: Airflow's providers manager calls :func:`get_provider_info` in every process.

Connection type ``iprod`` is ours (IProductionHook). We no longer register ``alibaba_cloud``:
apache-airflow-providers-alibaba owns it (hook AlibabaBaseHook and its two-field form), and declaring it
again made Airflow log "already registered" in every process and hand one provider's type to the other.
``alibaba_cloud`` connections still work with IProductionHook: it reads the same extras.

No ``documentation-url`` here: Airflow sets it from the distribution's ``Project-URL: Documentation``
(pyproject ``[project.urls]``), whatever this dict says, and the docs (``docs/`` in the repository) have no
published address yet.
"""

from __future__ import annotations

from typing import Any

from airflow_iprod.hooks import connection_form

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    integration = "Alibaba Cloud Intelligent Production"
    return {
        "package-name": "airflow-iprod",
        "name": "Alibaba Cloud IProduction",
        "description": "Deferrable operators, sensor, trigger and hook for Alibaba Cloud intelligent "
        "production jobs (ICE 2020-11-09 and MPS 2014-06-18), plus an offline local engine.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": integration,
                "external-doc-url": "https://www.alibabacloud.com/help/en/ims/developer-reference/api-ice-2020-11-09-submitiproductionjob",
                "tags": ["alibaba"],
            }
        ],
        "operators": [
            {
                "integration-name": integration,
                "python-modules": [
                    "airflow_iprod.operators.iproduction",
                    "airflow_iprod.operators.algorithms",
                ],
            }
        ],
        "sensors": [
            {"integration-name": integration, "python-modules": ["airflow_iprod.sensors.iproduction"]}
        ],
        "hooks": [{"integration-name": integration, "python-modules": ["airflow_iprod.hooks.iproduction"]}],
        "triggers": [
            {"integration-name": integration, "python-modules": ["airflow_iprod.triggers.iproduction"]}
        ],
        "connection-types": [
            {
                "connection-type": connection_form.CONN_TYPE,
                "hook-class-name": "airflow_iprod.hooks.iproduction.IProductionHook",
                "hook-name": "Alibaba Cloud IProduction",
                # Airflow >= 3.2 builds the form from these without importing the hook
                "conn-fields": connection_form.conn_fields(),
                "ui-field-behaviour": connection_form.provider_ui_field_behaviour(),
            }
        ],
        "extra-links": ["airflow_iprod.links.IProductionConsoleLink"],
        # oss:// for ObjectStoragePath, from the same connection (ossfs underneath)
        "filesystems": ["airflow_iprod.fs.oss"],
        # oss://bucket/key as an Asset URI: jobs record their output files as asset events
        "asset-uris": [
            {
                "schemes": ["oss"],
                "handler": "airflow_iprod.assets.oss.sanitize_uri",
                "factory": "airflow_iprod.assets.oss.create_asset",
                "to_openlineage_converter": "airflow_iprod.assets.oss.convert_asset_to_openlineage",
            }
        ],
        "config": _CONFIG,
        # common.messaging's MessageQueueTrigger(scheme="mns", ...) (the messaging extra)
        "queues": ["airflow_iprod.queues.mns.MnsMessageQueueProvider"],
    }


def _option(description: str, type_: str, default: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "version_added": "0.1.0",
        "type": type_,
        "example": example,
        "default": default,
    }


# Every [iprod] option the provider reads, so that `airflow config get-value` and `airflow providers
# configs` know them. Defaults are the code's (triggers/rate_limit.py, triggers/iproduction.py).
_CONFIG: dict[str, Any] = {
    "iprod": {
        "description": "Alibaba Cloud IProduction provider (airflow-iprod).",
        "options": {
            "query_qps": _option(
                "Queries per second that all IProduction triggers of one triggerer process may send to "
                "QueryIProductionJob together, in every sliding second. Keep the sum over your "
                "triggerers under the account's QPS limit (MPS documents 100 per user).",
                "float",
                "20",
                "50",
            ),
            "callback_poll_interval": _option(
                "In MNS callback mode, seconds between the safety-net Queries of a job whose callback "
                "has not arrived yet (a lost or late message still ends the wait).",
                "float",
                "300",
                "120",
            ),
        },
    }
}
