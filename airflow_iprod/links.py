"""Console link for IProduction jobs: where a person sees the job.

* A local-engine job (the connection's endpoint is not ``*.aliyuncs.com``): the engine's own job page,
  ``<protocol>://<endpoint>/-/console/jobs/<JobId>``.
* A cloud job: the service's console for the job's region, ICE jobs in the Intelligent Media Services
  console, MPS jobs in the MPS console. Neither console publishes a deep link to one intelligent
  production job, nor a job list filterable by JobId in its URL (the consoles' documented addresses are
  their landing pages, ``ims.console.aliyun.com/summary`` and ``mps.console.aliyun.com/overview``), so
  the link opens that page in the job's region (``?regionId=``, as Alibaba Cloud consoles take it); the
  JobId is in the task's log and its return value.

The task stores a small dict (api, job id, region, and for a local engine its base URL; never keys)
in XCom when it learns the JobId; ``get_link`` formats it (Airflow 3 runs it in the worker and keeps the
URL for the UI). Recording it never fails a task.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator, Context

    from airflow_iprod.client_settings import ClientSettings

log = logging.getLogger(__name__)
# api -> the console that shows its jobs
CLOUD_CONSOLES = {
    "ice": "https://ims.console.aliyun.com/summary",
    "mts": "https://mps.console.aliyun.com/overview",
}
LOCAL_CONSOLE_PATH = "/-/console/jobs/"  # served by the local engine (airflow_iprod.local)


class _HasSettings(Protocol):
    def settings(self) -> ClientSettings: ...


def console_url(api: str, job_id: str, region: str, local_endpoint: str | None = None) -> str:
    """The page that shows the job: the local engine's job page, or the cloud console of ``api`` in
    ``region``. Raises KeyError for an api that is not ICE's or MPS's."""
    if local_endpoint:
        return f"{local_endpoint.rstrip('/')}{LOCAL_CONSOLE_PATH}{quote(job_id, safe='')}"
    return f"{CLOUD_CONSOLES[api]}?{urlencode({'regionId': region})}"


def link_record(api: str, job_id: str, settings: ClientSettings) -> dict[str, str]:
    """What the task stores for the link: where the job runs, nothing secret."""
    record = {"api": api, "job_id": job_id, "region": settings.region}
    if not settings.is_cloud:
        record["local_endpoint"] = f"{settings.protocol}://{settings.endpoint}"
    return record


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
    def persist(cls, context: Context, *, job_id: str, hook: _HasSettings) -> None:
        """Store the link's dict for the job ``hook`` talks to; never raises (a link must not fail the
        job)."""
        try:
            settings = hook.settings()
            context["ti"].xcom_push(key=cls.key, value=link_record(settings.api, job_id, settings))
        except Exception as err:
            log.warning("Could not record the console link for job %s: %s", job_id, err)
