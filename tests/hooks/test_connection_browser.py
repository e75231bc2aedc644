"""The ``iprod`` connection form in a real ``airflow api-server`` UI, in headless Chromium: a person adds the
connection, sees only our fields (labelled, secrets masked), saves it, and presses Test.

Airflow 3.3.2's Test button sends ``port: 0`` for a connection without a port (``Number(null)`` in the UI)
and its API then refuses the test with 400 "The host or port to test differs from the stored connection"
(apache/airflow PR #73298 fixes it in the API). Every portless type is hit, ours included. On such an
Airflow the test checks that this is the refusal the button met, and that the API tests our stored
connection successfully once the port is blank; on a fixed Airflow it expects the button's green mark.

Runs on the session's Airflow of ``tests/airflow_stack.py`` (the scheduler test's api-server, or one of
its own when run alone: 15-60 s on a busy machine).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.airflow_stack import AirflowStack, shared_stack
from tests.browser import browser, screenshot, visible_text, wait_until  # noqa: F401 - pytest fixture

LABELS = {
    "access_key_id": "AccessKey ID",
    "access_key_secret": "AccessKey secret",
    "security_token": "STS token",
    "region": "Region",
    "endpoint": "Endpoint",
    "protocol": "Protocol",
    "oss_endpoint": "OSS endpoint",
    "mns_endpoint": "MNS endpoint",
    "ca_bundle": "CA bundle",
}


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, local_engine: Any) -> AirflowStack:
    """The session's Airflow (``tests/airflow_stack.py``); this test needs its api-server only."""
    return shared_stack(request, local_engine, ("api-server",))


def _stored(stack: AirflowStack, conn_id: str) -> Any:
    """The connection as the stack's metadata DB holds it (secrets in full, read with its Fernet key)."""
    from airflow.models.connection import Connection
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    engine = create_engine(stack.db_url)
    try:
        with Session(engine) as session:
            return session.scalar(select(Connection).where(Connection.conn_id == conn_id))
    finally:
        engine.dispose()


def _button(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By

    return wait_until(
        driver,
        lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "button") if b.text == text), None),
        what=f"a button {text!r}",
    )


def test_fill_the_form_save_and_press_test(
    browser: Any,  # noqa: F811
    stack: AirflowStack,
    local_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from airflow_iprod.hooks.iproduction import IProductionHook

    conn_id = f"iprod_ui_{os.getpid()}"
    driver = browser
    driver.get(f"{stack.base}/connections")
    _button(driver, "Add Connection").click()
    wait_until(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=connection_id]"), what="the form"
    )
    driver.find_element(By.CSS_SELECTOR, "input[name=connection_id]").send_keys(conn_id)
    # the type picker is a searchable select: type our hook's name and take the one match
    picker = next(
        e
        for e in driver.find_elements(By.CSS_SELECTOR, "[role=dialog] input")
        if e.get_attribute("id") and not e.get_attribute("name")
    )
    picker.send_keys("Alibaba Cloud IProduction")
    wait_until(driver, lambda d: "Alibaba Cloud IProduction" in visible_text(d), what="the type option")
    picker.send_keys(Keys.ENTER)
    _button(driver, "Extra Fields").click()
    wait_until(driver, lambda d: d.find_elements(By.ID, "element_ca_bundle"), what="our extra fields")

    def dialog_text(d: Any) -> str:
        return str(d.find_element(By.CSS_SELECTOR, "[role=dialog]").text)

    # the section opens with an animation (slow on a busy machine): read it once every label shows
    try:
        wait_until(driver, lambda d: all(v in dialog_text(d) for v in LABELS.values()), what="every label")
    except TimeoutException:  # the asserts below name what is missing
        screenshot(driver, "connection-form-iprod-incomplete")
    dialog = dialog_text(driver)
    for label in LABELS.values():
        assert label in dialog, label
    standard = dialog.split("Standard Fields", 1)[1].split("Extra Fields", 1)[0]
    for hidden in ("Host", "Login", "Password", "Port", "Schema"):
        assert hidden not in standard, f"{hidden} is shown: {standard!r}"
    types = {name: driver.find_element(By.ID, f"element_{name}").get_attribute("type") for name in LABELS}
    assert {n for n, t in types.items() if t == "password"} == {"access_key_secret", "security_token"}
    suggestions = driver.find_elements(By.CSS_SELECTOR, "datalist#list_region option")
    assert "cn-shanghai" in [o.get_attribute("value") for o in suggestions]

    form = {
        "access_key_id": local_engine.access_key_id,
        "access_key_secret": local_engine.access_key_secret,
        "region": local_engine.region,
        "endpoint": local_engine.endpoint,
        "protocol": "http",
    }
    for name, value in form.items():
        driver.find_element(By.ID, f"element_{name}").send_keys(value)
    screenshot(driver, "connection-form-iprod")
    _button(driver, "Save").click()
    test_button = wait_until(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "button[aria-label='Test Connection']"),
        what="the saved connection's row",
    )[0]
    try:
        status, stored = stack.request(f"/api/v2/connections/{conn_id}")
        assert status == 200 and stored["conn_type"] == "iprod"
        extra = json.loads(stored["extra"])
        assert extra["endpoint"] == local_engine.endpoint and extra["protocol"] == "http"
        assert extra["access_key_secret"] == "***"  # masked by the API, stored in full
        # the hook reads what the form stored, under the form's names (a hook outside a task reads no
        # metadata DB: hand it the stored connection the way the API server does for a test)
        saved = _stored(stack, conn_id)
        monkeypatch.setenv("AIRFLOW_CONN_IPROD_UI_SAVED", saved.get_uri())
        settings = IProductionHook("iprod_ui_saved").settings()
        assert (settings.endpoint, settings.access_key_secret) == (
            local_engine.endpoint,
            local_engine.access_key_secret,
        )

        test_button.click()
        icon = wait_until(
            driver,
            lambda d: d.find_elements(By.CSS_SELECTOR, "button[aria-label='Test Connection'] svg[color]"),
            timeout=60,
            what="the Test result mark",
        )[0]
        shown = visible_text(driver)  # at once: the toast next to the mark goes after a few seconds
        screenshot(driver, "connection-list-iprod-tested")
        from airflow.api_fastapi.core_api.routes.public.connections import _same_endpoint

        if _same_endpoint(0, None):  # a fixed Airflow: the button works for portless connections
            assert icon.get_attribute("color") == "green"
        else:
            assert icon.get_attribute("color") == "red"
            # what a person reads: the toast carries the status text only, not the API's detail
            assert "Test Connection Failed" in shown
            body = {k: stored[k] for k in ("connection_id", "conn_type", "extra")}
            status, answer = stack.request("/api/v2/connections/test", {**body, "port": 0}, "POST")
            assert status == 400 and "host or port to test differs" in answer["detail"]
            status, answer = stack.request("/api/v2/connections/test", body, "POST")
            assert (status, answer) == (
                200,
                {"status": True, "message": f"Connected to {local_engine.endpoint} (ice)"},
            )
    finally:
        stack.request(f"/api/v2/connections/{conn_id}", method="DELETE")
