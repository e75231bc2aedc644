"""The local console in a real headless Chromium: sign-in, the job list and its filters, each kind of
job page (audio, captions, picture, video, failure) and the bucket browser, asserting what a person sees.
One screenshot per page goes to the artifacts directory (``tests/browser.py``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.browser import browser, screenshot, visible_text, wait_until  # noqa: F401 - fixture
from tests.local.console.conftest import INJECTED, PIPELINE, ConsoleJobs


def _path(driver: Any) -> str:
    return urlsplit(driver.current_url).path


def _fill_login(driver: Any, key_id: str, secret: str) -> None:
    from selenium.webdriver.common.by import By

    for name, value in (("access_key_id", key_id), ("access_key_secret", secret)):
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()


@pytest.fixture
def signed_in(browser: Any, console: ConsoleJobs) -> Iterator[Any]:  # noqa: F811 - the fixture above
    """The browser with a console session (signs in when it has none yet)."""
    browser.get(f"{console.base}/jobs")
    if _path(browser).endswith("/login"):
        _fill_login(browser, console.handle.access_key_id, console.handle.access_key_secret)
        wait_until(browser, lambda d: _path(d) == "/-/console/jobs", what="the jobs page after sign-in")
    yield browser


def _rows(driver: Any) -> dict[str, str]:
    """JobId -> the visible text of its row in the jobs table."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "table.jobs tbody tr")
    return {row.find_element(By.TAG_NAME, "td").text: row.text for row in rows}


def _media_ok(src: str) -> None:
    """The media URL the page uses answers 200 with bytes (a presigned GET on the engine)."""
    assert "Signature=" in src and "OSSAccessKeyId=" in src, src
    response = requests.get(src, timeout=30)
    assert response.status_code == 200 and response.content, (src, response.status_code)


def test_sign_in_refuses_a_wrong_key_and_takes_the_right_one(browser: Any, console: ConsoleJobs) -> None:  # noqa: F811
    browser.get(f"{console.base}/jobs?status=Success")
    assert _path(browser) == "/-/console/login"
    text = visible_text(browser)
    assert "Sign in to the local console" in text
    assert "binds where the engine binds" in text and console.handle.endpoint in text
    assert console.ids["tts"] not in browser.page_source  # nothing about jobs before sign-in
    screenshot(browser, "console-login")

    _fill_login(browser, console.handle.access_key_id, "not-the-secret")
    wait_until(browser, lambda d: "Sign-in refused" in visible_text(d), what="the refusal")
    assert _path(browser) == "/-/console/login"
    assert not browser.get_cookies()
    screenshot(browser, "console-login-refused")

    _fill_login(browser, console.handle.access_key_id, console.handle.access_key_secret)
    wait_until(browser, lambda d: _path(d) == "/-/console/jobs", what="the jobs page")
    assert "status=Success" in browser.current_url  # back where the sign-in started
    cookie = next(c for c in browser.get_cookies() if c["name"] == "iprod_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert console.handle.access_key_secret not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script can read it


def test_jobs_list_shows_every_job_and_filters(signed_in: Any, console: ConsoleJobs) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, ids = signed_in, console.ids
    driver.get(f"{console.base}/")
    rows = _rows(driver)
    assert set(rows) == set(ids.values())
    assert "5 jobs" in visible_text(driver)
    expected = {
        "tts": ("Success", "TextToSpeech", "MPS"),
        "asr": ("Success", "ASR", "MPS"),
        "image": ("Success", "ImageH2V", "MPS"),
        "video": ("Success", "VideoClip", "ICE"),
        "failed": ("Fail", "ImageDelogo", "MPS"),
    }
    for name, words in expected.items():
        assert all(word in rows[ids[name]].split() for word in words), (name, rows[ids[name]])
    assert rows[ids["video"]].split()[-2:] == [PIPELINE, "3"]  # pipeline and priority columns
    order = list(_rows(driver))
    assert order.index(ids["asr"]) < order.index(ids["tts"])  # newest first
    screenshot(driver, "console-jobs")

    Select(driver.find_element(By.NAME, "status")).select_by_visible_text("Fail")
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_until(driver, lambda d: "status=Fail" in d.current_url, what="the filtered list")
    assert set(_rows(driver)) == {ids["failed"]}
    assert "1 job" in visible_text(driver)

    Select(driver.find_element(By.NAME, "status")).select_by_visible_text("All")
    Select(driver.find_element(By.NAME, "function")).select_by_visible_text("TextToSpeech")
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_until(driver, lambda d: "function=TextToSpeech" in d.current_url, what="the function filter")
    assert set(_rows(driver)) == {ids["tts"]}

    Select(driver.find_element(By.NAME, "function")).select_by_visible_text("All")
    Select(driver.find_element(By.NAME, "pipeline")).select_by_visible_text(PIPELINE)
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_until(driver, lambda d: f"pipeline={PIPELINE}" in d.current_url, what="the pipeline filter")
    assert set(_rows(driver)) == {ids["image"], ids["video"]}
    screenshot(driver, "console-jobs-filtered")

    driver.find_element(By.LINK_TEXT, ids["image"]).click()
    wait_until(driver, lambda d: _path(d).endswith(ids["image"]), what="the job page from the list")


def test_audio_job_page_plays_and_shows_the_request_escaped(signed_in: Any, console: ConsoleJobs) -> None:
    from selenium.webdriver.common.by import By

    driver = signed_in
    driver.get(f"{console.base}/jobs/{console.ids['tts']}")
    text = visible_text(driver)
    assert "TextToSpeech job" in text and "Success" in text
    assert '"SampleRate": 22050' in text  # the Result, pretty-printed
    assert "oss://media/console/speech/greeting.wav" in text
    audio = driver.find_element(By.TAG_NAME, "audio")
    _media_ok(audio.get_attribute("src"))
    wait_until(
        driver,
        lambda d: d.execute_script("return arguments[0].readyState", audio) >= 1,
        what="audio metadata",
    )
    duration = driver.execute_script("return arguments[0].duration", audio)
    assert duration == pytest.approx(json.loads(console.bodies["tts"]["Result"])["Duration"], abs=0.1)
    driver.execute_script("arguments[0].play()", audio)
    wait_until(
        driver, lambda d: d.execute_script("return arguments[0].currentTime", audio) > 0.1, what="playback"
    )
    assert driver.execute_script("return arguments[0].error", audio) is None
    # The hostile UserData is shown as text, never run or parsed as markup.
    request = driver.find_element(By.CSS_SELECTOR, "pre.request").text
    assert "<script>window.pwned=1</script>" in request
    assert driver.execute_script("return window.pwned === undefined")
    assert not driver.find_elements(By.CSS_SELECTOR, 'img[src="x"]')
    screenshot(driver, "console-job-audio")


def test_asr_job_page_shows_the_captions(signed_in: Any, console: ConsoleJobs) -> None:
    from selenium.webdriver.common.by import By

    driver = signed_in
    driver.get(f"{console.base}/jobs/{console.ids['asr']}")
    srt = driver.find_element(By.CSS_SELECTOR, "pre.file-text")
    assert srt.is_displayed()
    assert re.search(r"^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n", srt.text), srt.text
    # The file as the engine stores it, and the words of the job's Result (not the ASR's accuracy).
    link = driver.find_element(By.CSS_SELECTOR, ".output a[download]").get_attribute("href")
    assert srt.text.strip() == requests.get(link, timeout=30).text.strip()
    sentence = json.loads(console.bodies["asr"]["Result"])["Sentences"][0]["text"]
    assert sentence and sentence in srt.text
    assert '"Sentences"' in visible_text(driver)
    screenshot(driver, "console-job-captions")


def test_image_and_video_job_pages_load_their_media(signed_in: Any, console: ConsoleJobs) -> None:
    from selenium.webdriver.common.by import By

    driver = signed_in
    driver.get(f"{console.base}/jobs/{console.ids['image']}")
    img = driver.find_element(By.CSS_SELECTOR, ".output img")
    _media_ok(img.get_attribute("src"))
    wait_until(driver, lambda d: d.execute_script("return arguments[0].complete", img), what="the picture")
    width, height = driver.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img
    )
    assert width > 0 and height > width  # ImageH2V: a portrait picture
    assert "scene.png" in visible_text(driver)
    screenshot(driver, "console-job-image")

    driver.get(f"{console.base}/jobs/{console.ids['video']}")
    assert "VideoClip job" in visible_text(driver) and "ICE" in visible_text(driver)
    video = driver.find_element(By.CSS_SELECTOR, ".output video")
    _media_ok(video.get_attribute("src"))
    wait_until(
        driver,
        lambda d: d.execute_script("return arguments[0].readyState", video) >= 1,
        what="video metadata",
    )
    assert driver.execute_script("return arguments[0].videoWidth", video) > 0
    screenshot(driver, "console-job-video")


def test_failed_job_page_shows_the_error(signed_in: Any, console: ConsoleJobs) -> None:
    driver = signed_in
    driver.get(f"{console.base}/jobs/{console.ids['failed']}")
    text = visible_text(driver)
    assert "Fail" in text and INJECTED in text
    assert "This job has no output files." in text
    screenshot(driver, "console-job-failed")


def test_bucket_browser_walks_down_a_prefix(signed_in: Any, console: ConsoleJobs) -> None:
    from selenium.webdriver.common.by import By

    driver = signed_in
    driver.find_element(By.LINK_TEXT, "Buckets").click()
    wait_until(driver, lambda d: _path(d) == "/-/console/buckets", what="the bucket list")
    assert "media" in visible_text(driver) and "cn-shanghai" in visible_text(driver)
    screenshot(driver, "console-buckets")
    driver.find_element(By.LINK_TEXT, "media").click()
    driver.find_element(By.LINK_TEXT, "console/").click()
    folders = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.folder")]
    assert folders == ["asr/", "clip/", "h2v/", "in/", "speech/"]
    driver.find_element(By.LINK_TEXT, "speech/").click()
    wait_until(driver, lambda d: "prefix=console%2Fspeech%2F" in d.current_url, what="the speech/ folder")
    text = visible_text(driver)
    assert "greeting.wav" in text and "audio/x-wav" in text
    crumbs = driver.find_element(By.CSS_SELECTOR, ".crumbs").text
    assert crumbs == "buckets / media / console / speech"
    _media_ok(driver.find_element(By.LINK_TEXT, "download").get_attribute("href"))
    screenshot(driver, "console-bucket-prefix")
