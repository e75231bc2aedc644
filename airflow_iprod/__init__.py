"""Apache Airflow provider for Alibaba Cloud intelligent production (IProduction) jobs.

Kept import-light: Airflow's providers manager calls :func:`get_provider_info` in every process.

No ``connection-types`` entry: our connections are of type ``alibaba_cloud``, which
apache-airflow-providers-alibaba registers (with its AlibabaBaseHook, whose subclass IProductionHook
is). Registering it again made Airflow log "already registered" in every process and, as providers
are read in name order, handed that provider's connection type to our hook.
"""

from __future__ import annotations

from typing import Any

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
        "extra-links": ["airflow_iprod.links.IProductionConsoleLink"],
        # oss:// for ObjectStoragePath, from the same alibaba_cloud connection (ossfs underneath)
        "filesystems": ["airflow_iprod.fs.oss"],
    }
