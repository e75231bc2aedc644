"""Console link for IProduction jobs.

The link opens Alibaba Cloud's OpenAPI Explorer on ``QueryIProductionJob`` with the job's id and
region filled in: a stable, documented URL scheme for both APIs (the consoles' own job pages have no
published deep-link format). Airflow 3 shows the URL the task stored in XCom under ``xcom_key``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator, Context

_PRODUCTS = {"ice": ("ICE", "2020-11-09"), "mts": ("Mts", "2014-06-18")}


def console_url(api: str, job_id: str, region: str) -> str:
    product, version = _PRODUCTS[api]
    query = urlencode({"RegionId": region, "params": json.dumps({"JobId": job_id}, separators=(",", ":"))})
    return f"https://api.aliyun.com/api/{product}/{version}/QueryIProductionJob?{query}"


class IProductionConsoleLink(BaseOperatorLink):
    """ "IProduction Job" button on tasks that submit or watch an IProduction job."""

    name = "IProduction Job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        value: Any = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return value if isinstance(value, str) else ""

    @classmethod
    def persist(cls, context: Context, *, api: str, job_id: str, region: str) -> str:
        url = console_url(api, job_id, region)
        context["ti"].xcom_push(key=cls().xcom_key, value=url)
        return url
