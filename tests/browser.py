"""Browser tests' shared pieces: a headless Chromium WebDriver and one screenshot per page.

Uses Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``) through
Selenium, with the driver's path given explicitly so Selenium Manager never tries to download a browser
or a driver (there is no such download here). Import the fixture into a test module::

    from tests.browser import browser, screenshot  # noqa: F401 - pytest fixture

* ``browser`` (module scope): a fresh headless Chromium per test module (own profile: no cookies from
  another module), 1366x900, audio muted and allowed to play without a click. When Chromium or its
  driver is missing the test is skipped with the reason, or fails when ``CI=true`` (CI must run it).
* ``screenshot(driver, name)`` saves the whole page as ``<name>.png`` in ``$IPROD_ARTIFACTS_DIR``
  (default ``<repo>/artifacts/screenshots``, which is git-ignored) and returns the path.
* ``visible_text(driver)``: the text a person sees on the page (``innerText`` of the body).
* ``wait_until(driver, condition, timeout, what)``: WebDriverWait with a message naming ``what``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver"


def artifacts_dir() -> Path:
    """Where screenshots go: ``$IPROD_ARTIFACTS_DIR`` or ``<repo>/artifacts/screenshots``."""
    path = Path(os.environ.get("IPROD_ARTIFACTS_DIR") or REPO / "artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _missing() -> str | None:
    """Why no browser test can run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (Debian package {package}: {INSTALL_HINT})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (it is in the project's test extra)"
    return None


def start_chromium(width: int = 1366, height: int = 900) -> Any:
    """A headless Chromium WebDriver on Debian's browser and driver; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",  # no update checks or field trials: there is no internet
        "--no-proxy-server",  # the servers under test are local; ignore proxies from the environment
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",  # a test may play() a media element
        "--lang=en-US",
    ):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager is then never asked to find (download) anything.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=os.devnull)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(f"no headless browser: {reason}")
    os.environ.setdefault("SE_OFFLINE", "true")  # belt and braces: Selenium Manager stays offline
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Save the whole page (beyond the window's height) as ``<artifacts>/<name>.png``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"
    path = artifacts_dir() / f"{safe}.png"
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def visible_text(driver: Any) -> str:
    """What a person reads on the page: the body's rendered text (hidden elements excluded)."""
    return str(driver.execute_script("return document.body.innerText"))


def wait_until(driver: Any, condition: Callable[[Any], Any], timeout: float = 15, what: str = "") -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        condition, message=f"waited {timeout} s for {what or condition}"
    )
