"""The asset-scheduled example under a real Airflow (``tests/airflow_stack.py``): ``api-server``,
``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer`` run the flagship on the local engine;
its ``denoise`` task's output WAV, recorded as an asset event through the task's alias, triggers
``iprod_transcribe_clean_audio``, whose ASR job transcribes it. ``dag.test()`` cannot show this: it
creates no asset-triggered runs.

Then, in headless Chromium (``tests/browser.py``), what a person sees: the Assets page lists the three
output files' ``oss://`` URIs, and the ``denoise`` task's page has the "IProduction Job" link to the
local engine's console page of its job, which (after signing in with the engine's key) shows that job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from airflow_iprod.links import IProductionConsoleLink
from tests.airflow_stack import PROCESSES, AirflowStack, shared_stack, wait_for
from tests.browser import browser, screenshot, visible_text, wait_until  # noqa: F401 - pytest fixture

pytestmark = pytest.mark.slow
FLAGSHIP, CONSUMER = "iprod_denoise_then_captions", "iprod_transcribe_clean_audio"
SCHEDULING = ("scheduler", "dag-processor", "triggerer")


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, local_engine: Any) -> AirflowStack:
    """The session's Airflow with all four processes, once the example DAGs are parsed."""
    airflow = shared_stack(request, local_engine, PROCESSES)

    def parsed() -> bool:
        return {FLAGSHIP, CONSUMER} <= {d["dag_id"] for d in airflow.api("GET", "/dags")["dags"]}

    wait_for("the parsed example DAGs", parsed, 240, airflow.logs)
    return airflow


@pytest.fixture(scope="module")
def runs(stack: AirflowStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """The flagship's manual run and the transcription run its output triggered, both finished."""
    out = tmp_path_factory.mktemp("flagship-output")
    run = stack.api(
        "POST", f"/dags/{FLAGSHIP}/dagRuns", {"logical_date": None, "conf": {"output_dir": str(out)}}
    )

    def finished(dag_id: str, run_type: str) -> dict | None:
        found = [
            r for r in stack.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"] if r["run_type"] == run_type
        ]
        return found[0] if found and found[0]["state"] in ("success", "failed") else None

    try:
        flagship = wait_for("the flagship run", lambda: finished(FLAGSHIP, "manual"), 600, stack.logs)
        assert (flagship["dag_run_id"], flagship["state"]) == (run["dag_run_id"], "success")
        consumer = wait_for(
            "the asset-triggered transcription",
            lambda: finished(CONSUMER, "asset_triggered"),
            600,
            stack.logs,
        )
        yield {"flagship": flagship, "consumer": consumer}
    finally:  # nothing else schedules DAGs: the api-server alone stays for the session's other UI tests
        stack.stop(SCHEDULING)


def _listed_assets(stack: AirflowStack) -> dict[str, list[str]] | None:
    """URI -> alias names, as the Assets page has them, once all three outputs are listed. An asset
    created through an alias is listed once the scheduler's periodic orphan check activates it."""
    assets = {a["uri"]: [x["name"] for x in a["aliases"]] for a in stack.api("GET", "/assets")["assets"]}
    return assets if len(assets) == 3 else None


@pytest.fixture(scope="module")
def assets(stack: AirflowStack, runs: dict[str, dict]) -> dict[str, list[str]]:
    return wait_for("three assets on the Assets page", lambda: _listed_assets(stack), 120, stack.logs)


def test_flagship_outputs_trigger_the_transcription(stack: AirflowStack, runs: dict, assets: dict) -> None:
    consumer = runs["consumer"]
    assert consumer["state"] == "success"
    # the flagship's WAV and SRT, and the transcript, each with its task's alias
    wav = next(u for u in assets if u.endswith("-clean.wav"))
    srt = next(u for u in assets if u.endswith("talk.srt"))
    assert assets[wav] == [f"iprod/{FLAGSHIP}/denoise"] and assets[srt] == [f"iprod/{FLAGSHIP}/captions"]
    assert assets["oss://media/transcripts/narration-clean.srt"] == [f"iprod/{CONSUMER}/transcribe"]

    # the transcription consumed the WAV's event, which names the job that wrote it
    consumed = stack.api("GET", f"/dags/{CONSUMER}/dagRuns/{consumer['dag_run_id']}/upstreamAssetEvents")
    (event,) = consumed["asset_events"]
    assert event["uri"] == wav and event["source_dag_id"] == FLAGSHIP and event["source_task_id"] == "denoise"
    assert event["extra"]["FunctionName"] == "SpeechDenoise" and event["extra"]["conn_id"] == "iprod_local"
    # the transcript is ASR of the cleaned narration (pocketsphinx: allow for slips, not for a miss)
    shown = stack.api(
        "GET",
        f"/dags/{CONSUMER}/dagRuns/{consumer['dag_run_id']}/taskInstances/show/xcomEntries/return_value",
    )["value"]
    (transcript,) = (json.loads(shown) if isinstance(shown, str) else shown).values()
    assert "pipeline" in transcript.lower() and "narration" in transcript.lower(), transcript


def test_assets_page_shows_the_outputs(browser: Any, stack: AirflowStack, assets: dict) -> None:  # noqa: F811
    browser.get(f"{stack.base}/assets")
    wait_until(
        browser, lambda d: all(uri in visible_text(d) for uri in assets), timeout=60, what="the three URIs"
    )
    assert "3 Assets" in visible_text(browser)
    screenshot(browser, "airflow-assets")


def _sign_in_to_console(driver: Any, engine: Any) -> None:
    from selenium.webdriver.common.by import By

    wait_until(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, "form.login button"), what="the sign-in form"
    )
    for name, value in (
        ("access_key_id", engine.access_key_id),
        ("access_key_secret", engine.access_key_secret),
    ):
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()


def test_task_console_link_opens_the_job_page(
    browser: Any,  # noqa: F811
    stack: AirflowStack,
    runs: dict,
    assets: dict,
    local_engine: Any,
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    run_id = runs["flagship"]["dag_run_id"]
    task = f"/dags/{FLAGSHIP}/dagRuns/{quote(run_id, safe='')}/taskInstances/denoise"
    job = stack.api("GET", f"{task}/xcomEntries/return_value?deserialize=true")["value"]
    job = json.loads(job) if isinstance(job, str) else job
    job_id = job["JobId"]
    expected = f"http://{local_engine.endpoint}/-/console/jobs/{job_id}"

    name = IProductionConsoleLink.name
    # what the UI asks for: the task's extra links, computed from the small dict the task stored
    assert stack.api("GET", f"{task}/links")["extra_links"] == {name: expected}
    # the task's Details tab shows its extra links as buttons
    browser.get(f"{stack.base}/dags/{FLAGSHIP}/runs/{quote(run_id, safe='')}/tasks/denoise/details")
    xpath = f"//a[normalize-space()={name!r}]"

    def href(d: Any) -> str | None:
        try:
            return next((a.get_attribute("href") for a in d.find_elements(By.XPATH, xpath)), None)
        except StaleElementReferenceException:  # React re-rendered the header meanwhile
            return None

    try:
        shown = wait_until(browser, href, timeout=60, what=f"the {name!r} link")
    finally:
        screenshot(browser, "airflow-task-denoise-details")
    assert shown == expected

    # a person clicks it (it opens a new tab): the console asks for the engine's key, then shows the job
    airflow_tab = browser.current_window_handle

    def click(d: Any) -> bool:
        try:
            d.find_element(By.XPATH, xpath).click()
            return True
        except StaleElementReferenceException:
            return False

    wait_until(browser, click, what=f"a click on {name!r}")
    new_tab = wait_until(
        browser, lambda d: next((h for h in d.window_handles if h != airflow_tab), None), what="the new tab"
    )
    browser.switch_to.window(new_tab)
    wait_until(browser, lambda d: urlsplit(d.current_url).path == "/-/console/login", what="the sign-in page")
    _sign_in_to_console(browser, local_engine)
    wait_until(
        browser, lambda d: urlsplit(d.current_url).path == f"/-/console/jobs/{job_id}", what="the job page"
    )
    text = visible_text(browser)
    assert job_id in text and "SpeechDenoise job" in text and "Success" in text
    wav = next(u for u in assets if u.endswith("-clean.wav"))
    assert wav in text
    assert browser.find_elements(By.CSS_SELECTOR, "audio")
    screenshot(browser, "console-job-from-airflow-link")
