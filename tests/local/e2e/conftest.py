"""Helpers for end-to-end algorithm tests: submit through the official SDKs, wait, locate and download
the outputs through the object API, and check that the output placeholders were expanded.

``jobs`` (session) gives ``jobs.submit(api, fn, input_url, output, params, **fields) -> Job``,
``jobs.wait(job) -> Query body`` (asserts Success unless ``expect="Fail"``), ``jobs.outputs(job)``
(oss:// URLs: ICE from OutputFiles, MPS from listing the output prefix, since the MPS Query answer
carries no file list), ``jobs.download(url, dest) -> Path`` and ``jobs.only_output(job, folder) -> Path``
(wait, exactly one output, downloaded into ``folder`` under its own name).
``needs(name)`` skips a test unless the local engine has the algorithm ``name``.

Modules submit all their jobs from one module-scoped fixture so that the engine's workers run them
concurrently while the tests wait for them one by one.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_iprod.local.algorithms import is_available

PLACEHOLDER_PATTERNS = {
    "timestamp": r"(?P<timestamp>\d{9,11})",
    "sequenceId": r"(?P<sequenceId>\d{5})",
    "resultType": r"(?P<resultType>[A-Za-z]+)",
}


def needs(name: str) -> pytest.MarkDecorator:
    """Skip the test unless the local engine has the algorithm ``name``."""
    return pytest.mark.skipif(not is_available(name), reason=f"{name} not in the local engine yet")


@dataclass
class Job:
    api: str
    function_name: str
    job_id: str
    input_url: str
    output: str | None
    submitted: tuple[int, int]  # Unix seconds just before and just after Submit
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> Any:
        return json.loads(self.body.get("Result") or "{}")

    @property
    def status(self) -> str:
        return self.body.get("Status" if self.api == "ice" else "State", "")


def output_regex(template: str, source: str) -> re.Pattern[str]:
    """The output template as a regex: ``{source}`` must be the input's name without extension."""
    pattern = ""
    for part in re.split(r"(\{[A-Za-z]+\})", template):
        name = part[1:-1] if part.startswith("{") else None
        if name == "source":
            pattern += re.escape(source)
        elif name in PLACEHOLDER_PATTERNS:
            group = PLACEHOLDER_PATTERNS[name]
            # a placeholder used twice: the second use must repeat the first value
            pattern += f"(?P={name})" if f"(?P<{name}>" in pattern else group
        else:
            pattern += re.escape(part)
    return re.compile(pattern + "$")


class Jobs:
    def __init__(self, handle: Any, ice: Any, mts: Any, oss_client: Any) -> None:
        self.handle, self.ice, self.mts, self.oss = handle, ice, mts, oss_client

    def client(self, api: str) -> Any:
        return self.ice if api == "ice" else self.mts

    def submit(
        self,
        api: str,
        function_name: str,
        input_url: str | None,
        output: str | None,
        job_params: Any = None,
        **fields: Any,
    ) -> Job:
        from tests.conftest import submit_to

        before = int(time.time())
        job_id = submit_to(self.client(api), api, function_name, input_url, output, job_params, **fields)
        after = int(time.time())
        if fields.get("input_type") == "Media" and input_url:  # {source} comes from the asset's file
            from alibabacloud_ice20201109 import models as m

            info = self.ice.get_media_info(m.GetMediaInfoRequest(media_id=input_url)).body.media_info
            input_url = info.media_basic_info.input_url
        # With Output.Type=Media the positional output is the OutputUrl (as in tests.conftest.submit_to).
        return Job(api, function_name, job_id, input_url or "", output, (before, after))

    def wait(self, job: Job, timeout: float = 150, expect: str = "Success") -> dict[str, Any]:
        from tests.conftest import wait_for

        if not job.body:
            job.body = wait_for(self.client(job.api), job.api, job.job_id, timeout)
        assert job.status == expect, f"{job.function_name} ({job.api}) ended {job.status}: {job.body}"
        return job.body

    def source_name(self, job: Job) -> str:
        """{source}: the input object's file name without its extension."""
        return Path(job.input_url.rsplit("/", 1)[-1]).stem

    def outputs(self, job: Job) -> list[str]:
        """Output oss:// URLs, each checked against the template with its placeholders expanded."""
        assert job.output, "the job has no output template"
        regex = output_regex(job.output, self.source_name(job))
        if job.api == "ice":
            files = list(job.body["OutputFiles"])
            assert len(job.body["OutputUrls"]) == len(files)
            for url, http in zip(files, job.body["OutputUrls"], strict=True):
                bucket, key = url.removeprefix("oss://").split("/", 1)
                assert http.startswith(f"http://{self.handle.endpoint}/{bucket}/{quote(key)}?"), http
        else:
            files = self._listed(job.output, regex)
        assert files, f"no output of {job.function_name} matches {job.output}"
        for url in files:
            match = regex.match(url)
            assert match, (url, job.output)
            stamp = match.groupdict().get("timestamp")
            if stamp is not None:
                low, high = job.submitted
                assert low - 1 <= int(stamp) <= high + 1, (stamp, job.submitted)
                if job.api == "ice":
                    created = time.strptime(job.body["CreateTime"], "%Y-%m-%dT%H:%M:%SZ")
                    from calendar import timegm

                    assert int(stamp) == timegm(created)
        return files

    def _listed(self, template: str, regex: re.Pattern[str]) -> list[str]:
        import alibabacloud_oss_v2 as oss

        bucket, key = template.removeprefix("oss://").split("/", 1)
        prefix = key.split("{", 1)[0]
        found: list[str] = []
        token = None
        while True:
            page = self.oss.list_objects_v2(
                oss.ListObjectsV2Request(bucket=bucket, prefix=prefix, continuation_token=token)
            )
            found += [f"oss://{bucket}/{o.key}" for o in page.contents or []]
            if not page.is_truncated:
                break
            token = page.next_continuation_token
        return sorted(u for u in found if regex.match(u))

    def download(self, url: str, dest: Path) -> Path:
        import alibabacloud_oss_v2 as oss

        bucket, key = url.removeprefix("oss://").split("/", 1)
        got = self.oss.get_object(oss.GetObjectRequest(bucket=bucket, key=key))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(got.body.read())
        return dest

    def only_output(self, job: Job, folder: Path) -> Path:
        """Wait for ``job`` to succeed; it must have written exactly one file (checked against its
        template by ``outputs``), downloaded here into ``folder`` under its own name."""
        self.wait(job)
        (url,) = self.outputs(job)
        return self.download(url, folder / url.rsplit("/", 1)[-1])


@pytest.fixture(scope="session")
def jobs(local_engine: Any, ice_client: Any, mts_client: Any, oss_client: Any) -> Jobs:
    return Jobs(local_engine, ice_client, mts_client, oss_client)
