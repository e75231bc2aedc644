"""IProductionConsoleLink: the task stores a small dict, the link formats it, and recording it never
fails a task. (The URL reaching a real task's XCom is checked in tests/operators and tests/sensors.)"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_iprod.links import IProductionConsoleLink, console_url


@pytest.mark.parametrize(("api", "path"), [("ice", "/api/ICE/2020-11-09/"), ("mts", "/api/Mts/2014-06-18/")])
def test_console_url_opens_query_with_the_job_and_region(api: str, path: str) -> None:
    url = urlsplit(console_url(api, "job-1", "cn-beijing"))
    assert url.netloc == "api.aliyun.com" and url.path == f"{path}QueryIProductionJob"
    query = parse_qs(url.query)
    assert query["RegionId"] == ["cn-beijing"] and query["params"] == ['{"JobId":"job-1"}']


class _TaskInstance:
    def __init__(self, fail: bool = False) -> None:
        self.pushed: dict[str, Any] = {}
        self.fail = fail

    def xcom_push(self, key: str, value: Any) -> None:
        if self.fail:
            raise RuntimeError("XCom backend down")
        self.pushed[key] = value


def test_persist_stores_a_small_dict() -> None:
    ti = _TaskInstance()
    IProductionConsoleLink.persist({"ti": ti}, api="ice", job_id="job-1", region="cn-shanghai")  # type: ignore[arg-type]
    assert ti.pushed == {
        IProductionConsoleLink.key: {"api": "ice", "job_id": "job-1", "region": "cn-shanghai"}
    }


def test_persist_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="airflow_iprod.links"):
        IProductionConsoleLink.persist({"ti": _TaskInstance(fail=True)}, api="ice", job_id="j", region="r")  # type: ignore[arg-type]
        IProductionConsoleLink.persist({}, api="ice", job_id="j2", region="r")  # type: ignore[arg-type]
    assert "Could not record the console link for job j" in caplog.text
    assert "job j2" in caplog.text


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (
            {"api": "mts", "job_id": "job-9", "region": "cn-shanghai"},
            console_url("mts", "job-9", "cn-shanghai"),
        ),
        (None, ""),  # nothing stored (the task never learned a JobId)
        ({"api": "gcp", "job_id": "x", "region": "r"}, ""),  # not ours to format
        ({"job_id": "x"}, ""),
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
