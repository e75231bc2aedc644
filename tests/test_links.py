"""IProductionConsoleLink: the task stores a small dict (never keys), the link formats it, and recording it
never fails a task. (The URL reaching a real task's XCom is checked in tests/operators and tests/sensors.)"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_iprod.hooks.iproduction import IProductionHook
from airflow_iprod.links import IProductionConsoleLink, console_url


@pytest.mark.parametrize(
    ("api", "host", "path"),
    [("ice", "ims.console.aliyun.com", "/summary"), ("mts", "mps.console.aliyun.com", "/overview")],
)
def test_cloud_jobs_open_their_service_console_in_the_job_region(api: str, host: str, path: str) -> None:
    url = urlsplit(console_url(api, "job-1", "cn-beijing"))
    assert (url.scheme, url.netloc, url.path) == ("https", host, path)
    assert parse_qs(url.query) == {"regionId": ["cn-beijing"]}


def test_local_jobs_open_the_engine_job_page() -> None:
    assert (
        console_url("ice", "ab/c d", "cn-shanghai", "http://127.0.0.1:8765/")
        == "http://127.0.0.1:8765/-/console/jobs/ab%2Fc%20d"
    )


class _TaskInstance:
    def __init__(self, fail: bool = False) -> None:
        self.pushed: dict[str, Any] = {}
        self.fail = fail

    def xcom_push(self, key: str, value: Any) -> None:
        if self.fail:
            raise RuntimeError("XCom backend down")
        self.pushed[key] = value


def _hook(monkeypatch: pytest.MonkeyPatch, conn_id: str, api: str = "ice", **extra: str) -> IProductionHook:
    """A hook on a real (environment) connection with keys in it, so we can check none is stored."""
    extra = {"access_key_id": "AKID-link", "access_key_secret": "SECRET-link", **extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "iprod", "extra": extra}))
    return IProductionHook(conn_id, api)


@pytest.mark.parametrize(
    ("api", "extra", "stored", "url"),
    [
        (
            "mts",
            {"region": "cn-hangzhou", "security_token": "STS-link"},
            {"api": "mts", "job_id": "job-1", "region": "cn-hangzhou"},
            "https://mps.console.aliyun.com/overview?regionId=cn-hangzhou",
        ),
        (  # a VPC endpoint is still the cloud
            "ice",
            {"endpoint": "https://ice-vpc.cn-beijing.aliyuncs.com", "region": "cn-beijing"},
            {"api": "ice", "job_id": "job-1", "region": "cn-beijing"},
            "https://ims.console.aliyun.com/summary?regionId=cn-beijing",
        ),
        (
            "ice",
            {"endpoint": "127.0.0.1:8765", "protocol": "http"},
            {
                "api": "ice",
                "job_id": "job-1",
                "region": "cn-shanghai",
                "local_endpoint": "http://127.0.0.1:8765",
            },
            "http://127.0.0.1:8765/-/console/jobs/job-1",
        ),
        (  # an engine started on another host (a compose service) is not the cloud either
            "mts",
            {"endpoint": "https://iprod-engine:8443"},
            {
                "api": "mts",
                "job_id": "job-1",
                "region": "cn-shanghai",
                "local_endpoint": "https://iprod-engine:8443",
            },
            "https://iprod-engine:8443/-/console/jobs/job-1",
        ),
    ],
)
def test_persist_stores_where_the_job_runs_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, api: str, extra: dict[str, str], stored: dict[str, str], url: str
) -> None:
    ti = _TaskInstance()
    IProductionConsoleLink.persist(
        {"ti": ti}, job_id="job-1", hook=_hook(monkeypatch, "iprod_link", api, **extra)
    )  # type: ignore[arg-type]
    assert ti.pushed == {IProductionConsoleLink.key: stored}
    assert "SECRET" not in repr(ti.pushed) and "AKID" not in repr(ti.pushed) and "STS" not in repr(ti.pushed)
    assert console_url(**stored) == url


def test_persist_never_raises(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    hook = _hook(monkeypatch, "iprod_link_ok")
    bad_protocol = _hook(monkeypatch, "iprod_link_bad", protocol="ftp")
    with caplog.at_level(logging.WARNING, logger="airflow_iprod.links"):
        IProductionConsoleLink.persist({"ti": _TaskInstance(fail=True)}, job_id="j", hook=hook)  # type: ignore[arg-type]
        IProductionConsoleLink.persist({}, job_id="j2", hook=hook)  # type: ignore[arg-type]
        IProductionConsoleLink.persist({"ti": _TaskInstance()}, job_id="j3", hook=bad_protocol)  # type: ignore[arg-type]
    assert "Could not record the console link for job j: XCom backend down" in caplog.text
    assert "job j2" in caplog.text
    assert "job j3" in caplog.text and "ftp" in caplog.text


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (
            {"api": "mts", "job_id": "job-9", "region": "cn-shanghai"},
            "https://mps.console.aliyun.com/overview?regionId=cn-shanghai",
        ),
        (
            {"api": "ice", "job_id": "job-9", "region": "cn-shanghai", "local_endpoint": "http://[::1]:9"},
            "http://[::1]:9/-/console/jobs/job-9",
        ),
        (None, ""),  # nothing stored (the task never learned a JobId)
        ({"api": "gcp", "job_id": "x", "region": "r"}, ""),  # not ours to format
        ({"job_id": "x"}, ""),
        ({"api": "ice", "job_id": "x", "region": "r", "params": "{}"}, ""),  # an unknown key
    ],
)
def test_get_link_formats_what_was_stored(
    monkeypatch: pytest.MonkeyPatch, stored: Any, expected: str
) -> None:
    from airflow.providers.common.compat.sdk import XCom

    monkeypatch.setattr(
        XCom, "get_value", lambda **kw: stored if kw["key"] == IProductionConsoleLink.key else None
    )
    assert IProductionConsoleLink().get_link(None, ti_key=None) == expected  # type: ignore[arg-type]
