"""Apache Airflow provider for Alibaba Cloud intelligent production (IProduction) jobs.

Kept import-light: Airflow's providers manager calls :func:`get_provider_info` in every process.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_CONN_FIELDS: dict[str, dict[str, Any]] = {
    "access_key_id": {
        "label": "Access Key ID",
        "description": "Leave empty to use the Alibaba Cloud default credential chain (env, RAM role).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "access_key_secret": {
        "label": "Access Key Secret",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "security_token": {
        "label": "STS Security Token",
        "description": "Only for temporary (STS) credentials.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "region": {
        "label": "Region",
        "description": "e.g. cn-shanghai",
        "schema": {"type": ["string", "null"]},
    },
    "endpoint": {
        "label": "Endpoint",
        "description": "host[:port]; default ice.<region>.aliyuncs.com / mts.<region>.aliyuncs.com",
        "schema": {"type": ["string", "null"]},
    },
    "protocol": {
        "label": "Protocol",
        "description": "https (default) or http (the local engine)",
        "schema": {"type": ["string", "null"], "enum": ["https", "http", None]},
    },
}


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
                # The type providers-alibaba defines; registering it here adds the STS / region /
                # endpoint fields to its form. Whichever provider registers first owns the hook
                # mapping; IProductionHook is a drop-in subclass of AlibabaBaseHook either way.
                "hook-class-name": "airflow_iprod.hooks.iproduction.IProductionHook",
                "hook-name": "Alibaba Cloud",
                "connection-type": "alibaba_cloud",
                "conn-fields": _CONN_FIELDS,
                "ui-field-behaviour": {"hidden-fields": ["host", "port", "schema", "login", "password"]},
            }
        ],
        "extra-links": ["airflow_iprod.links.IProductionConsoleLink"],
    }
