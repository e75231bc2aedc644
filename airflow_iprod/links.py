"""Console link for IProduction jobs.

The link opens Alibaba Cloud's OpenAPI Explorer on ``QueryIProductionJob`` with the job's id and
region filled in: a stable, documented URL scheme for both APIs (the consoles' own job pages have no
published deep-link format). The task stores a small dict (api, job id, region) in XCom when it learns
the JobId; ``get_link`` formats it (Airflow 3 runs it in the worker and keeps the URL for the UI).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator, Context

log = logging.getLogger(__name__)
_PRODUCTS = {"ice": ("ICE", "2020-11-09"), "mts": ("Mts", "2014-06-18")}


def console_url(api: str, job_id: str, region: str) -> str:
    product, version = _PRODUCTS[api]
    query = urlencode({"RegionId": region, "params": json.dumps({"JobId": job_id}, separators=(",", ":"))})
    return f"https://api.aliyun.com/api/{product}/{version}/QueryIProductionJob?{query}"


class IProductionConsoleLink(BaseOperatorLink):
    """ "IProduction Job" button on tasks that submit or watch an IProduction job."""

    name = "IProduction Job"
    key = "iprod_console_link"  # XCom key of the stored dict

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        conf: Any = XCom.get_value(ti_key=ti_key, key=self.key)
        if not isinstance(conf, dict):
            return ""
        try:
            return console_url(**conf)
        except (KeyError, TypeError):  # a dict from another version of this link: no button
            return ""

    @classmethod
    def persist(cls, context: Context, *, api: str, job_id: str, region: str) -> None:
        """Store the link's dict; never raises (a link must not fail the job)."""
        try:
            context["ti"].xcom_push(key=cls.key, value={"api": api, "job_id": job_id, "region": region})
        except Exception as err:
            log.warning("Could not record the console link for job %s: %s", job_id, err)
