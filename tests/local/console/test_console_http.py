"""The local console over plain HTTP (no browser): sign-in refusals, session tokens, escaping of hostile
values, 404s, read-only methods, and that media links are the engine's presigned URLs."""

from __future__ import annotations

import html
import io
import re
import time
from typing import Any

import pytest
import requests

from airflow_iprod.local.config import Credential, EngineConfig, FaultConfig
from airflow_iprod.local.console import auth
from tests.conftest import submit_to
from tests.local.console.conftest import HOSTILE, ConsoleJobs, sign_in


@pytest.fixture
def session(console: ConsoleJobs) -> requests.Session:
    return sign_in(requests.Session(), console)


@pytest.mark.parametrize("page", ["/", "/jobs", "/jobs/{tts}", "/buckets", "/buckets/media?prefix=console/"])
def test_every_page_needs_a_session(console: ConsoleJobs, page: str) -> None:
    target = "/-/console" + page.format(tts=console.ids["tts"])
    for cookie in (None, "iprod_console=forged.999999999999.00", "iprod_console=garbage"):
        headers = {"Cookie": cookie} if cookie else {}
        response = requests.get(
            f"http://{console.handle.endpoint}{target}", headers=headers, allow_redirects=False
        )
        assert response.status_code == 303, (target, cookie)
        assert response.headers["Location"].startswith("/-/console/login?next=")
        assert console.ids["tts"] not in response.text


def test_sign_in_refusals(console: ConsoleJobs) -> None:
    login = f"{console.base}/login"
    key_id, secret = console.handle.access_key_id, console.handle.access_key_secret
    cases = [
        ({"access_key_id": key_id, "access_key_secret": secret + "x"}, 401, "Sign-in refused"),
        ({"access_key_id": "LTAInobody", "access_key_secret": secret}, 401, "Sign-in refused"),
        ({"access_key_id": key_id, "access_key_secret": ""}, 400, "AccessKeySecret is empty"),
        ({"access_key_id": "", "access_key_secret": secret}, 400, "AccessKeyId is empty"),
    ]
    for form, status, words in cases:
        response = requests.post(login, data=form, allow_redirects=False)
        assert response.status_code == status, form
        assert words in html.unescape(response.text)
        assert "Set-Cookie" not in response.headers
    too_big = requests.post(login, data={"access_key_id": "x" * 9000}, allow_redirects=False)
    assert too_big.status_code == 413


def test_session_cookie_is_a_signed_token_not_the_secret(console: ConsoleJobs) -> None:
    key_id, secret = console.handle.access_key_id, console.handle.access_key_secret
    response = requests.post(
        f"{console.base}/login",
        data={"access_key_id": key_id, "access_key_secret": secret, "next": "https://evil.example/x"},
        allow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/-/console/jobs"  # never off to another site
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/-/console/"):
        assert attribute in cookie
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert secret not in token and auth.verify(console.handle.config, token) == key_id
    # Tampered, expired, or signed by another secret: no session.
    config = console.handle.config
    assert auth.verify(config, token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    assert auth.verify(config, auth.issue(config, key_id, now=time.time() - auth.SESSION_S - 5)) is None
    other = EngineConfig(data_dir=config.data_dir, credentials={key_id: Credential(key_id, "another secret")})
    assert auth.verify(other, token) is None


def test_sign_out_ends_the_session(console: ConsoleJobs, session: requests.Session) -> None:
    response = session.post(f"{console.base}/logout", allow_redirects=False)
    assert response.status_code == 303 and "Max-Age=0" in response.headers["Set-Cookie"]
    assert session.get(f"{console.base}/jobs", allow_redirects=False).status_code == 303


def test_hostile_values_are_escaped(console: ConsoleJobs, session: requests.Session) -> None:
    page = session.get(f"{console.base}/jobs/{console.ids['tts']}")
    assert page.status_code == 200
    assert "<script>" not in page.text and "<img src=x" not in page.text
    assert html.escape(HOSTILE) in page.text.replace("\\&quot;", "&quot;")
    # A hostile FunctionName filter is refused, naming the parameter, and echoed escaped.
    bad = session.get(f"{console.base}/jobs", params={"function": "<script>alert(1)</script>"})
    assert bad.status_code == 400
    assert "function=&#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27; is not valid" in bad.text
    assert "<script>" not in bad.text
    nxt = requests.get(f"{console.base}/login", params={"next": '/-/console/"><script>x</script>'})
    assert "<script>" not in nxt.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"status": "Done"}, "status='Done' is not valid: one of Queuing, Analyzing, Success, Fail"),
        ({"page": "0"}, "page='0' is not valid"),
        ({"pipeline": "p" * 200}, "pipeline has 200 characters"),
    ],
)
def test_bad_filters_are_refused_by_name(
    console: ConsoleJobs, session: requests.Session, query: dict, words: str
) -> None:
    response = session.get(f"{console.base}/jobs", params=query)
    assert response.status_code == 400 and words in html.unescape(response.text)


def test_jobs_list_pages(console: ConsoleJobs, session: requests.Session) -> None:
    ids = list(console.ids.values())
    seen: list[str] = []
    for page in (1, 2, 3):
        text = session.get(f"{console.base}/jobs", params={"per_page": 2, "page": page}).text
        seen += [j for j in re.findall(r'href="/-/console/jobs/([0-9a-f]{32})"', text) if j not in seen]
        assert f"5 jobs · newest first · page {page} of 3" in text
        assert ("Older →" in text) == (page < 3) and ("← Newer" in text) == (page > 1)
    assert sorted(seen) == sorted(ids) and seen[0] == console.ids["asr"]  # each job once, newest first
    past = session.get(f"{console.base}/jobs", params={"per_page": 2, "page": 4}).text
    assert "Page 4 is past the last page (3)." in past


def test_pages_of_unfinished_jobs_reload_themselves(make_engine: Any, console: ConsoleJobs) -> None:
    handle = make_engine(workers=1, faults=FaultConfig(job_latency_s=60))  # the job stays unfinished
    job_id = submit_to(
        handle.mts(), "mts", "TextToSpeech", None, "oss://media/held.wav", {"text": "Held for a while."}
    )
    held = ConsoleJobs(handle, {"held": job_id}, {})
    session = sign_in(requests.Session(), held)
    refresh = '<meta http-equiv="refresh" content="3">'
    page = session.get(f"{held.base}/jobs/{job_id}").text
    assert refresh in page and "No Result yet" in page
    assert re.search(r'status-(queuing|analyzing)">(Queuing|Analyzing)<', page)
    assert refresh in session.get(f"{held.base}/jobs").text
    finished = sign_in(requests.Session(), console).get(f"{console.base}/jobs/{console.ids['tts']}").text
    assert refresh not in finished


def test_console_over_tls(make_engine: Any) -> None:
    handle = make_engine(workers=1, tls=True)
    ca = str(handle.engine.ca_file)
    upload = handle.engine.objects.put_object("media", "tls/hello.txt", io.BytesIO(b"hello over TLS"))
    base = f"https://{handle.endpoint}/-/console"
    session = requests.Session()  # verify= on each call: REQUESTS_CA_BUNDLE would beat session.verify
    form = {"access_key_id": handle.access_key_id, "access_key_secret": handle.access_key_secret}
    signed = session.post(f"{base}/login", data=form, allow_redirects=False, verify=ca)
    assert signed.status_code == 303 and "; Secure" in signed.headers["Set-Cookie"]
    folder = session.get(f"{base}/buckets/media", params={"prefix": "tls/"}, verify=ca).text
    link = html.unescape(re.search(r'<a href="([^"]+)">download</a>', folder).group(1))
    assert link.startswith(f"https://{handle.endpoint}/media/tls/hello.txt?")
    assert session.get(link, verify=ca).content == b"hello over TLS" and upload.size == 14


def test_sign_in_guessing_is_slowed(make_engine: Any) -> None:
    handle = make_engine(workers=1)
    login = f"http://{handle.endpoint}/-/console/login"
    wrong = {"access_key_id": handle.access_key_id, "access_key_secret": "guess"}
    for _ in range(10):
        assert requests.post(login, data=wrong, allow_redirects=False).status_code == 401
    right = {"access_key_id": handle.access_key_id, "access_key_secret": handle.access_key_secret}
    refused = requests.post(login, data=right, allow_redirects=False)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many refused sign-ins" in refused.text and "Set-Cookie" not in refused.headers


def test_sign_in_limiter_window() -> None:
    limiter = auth.SignInLimiter(limit=3, window_s=60)
    for t in (0.0, 1.0, 2.0):
        assert limiter.wait_s("a", now=t) == 0
        limiter.refused("a", now=t)
    assert limiter.wait_s("a", now=3.0) == pytest.approx(57.0)
    assert limiter.wait_s("b", now=3.0) == 0  # another address is not held up
    assert limiter.wait_s("a", now=60.5) == 0  # the first refusal has left the window


def test_unknown_job_bucket_and_page_are_404(console: ConsoleJobs, session: requests.Session) -> None:
    job = session.get(f"{console.base}/jobs/0123456789abcdef0123456789abcdef")
    assert job.status_code == 404 and "no job with JobId" in job.text
    bucket = session.get(f"{console.base}/buckets/no-such-bucket")
    assert bucket.status_code == 404 and "does not exist" in bucket.text
    assert session.get(f"{console.base}/nothing-here").status_code == 404


def test_console_is_read_only(console: ConsoleJobs, session: requests.Session) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = session.request(method, f"{console.base}/jobs", allow_redirects=False)
        assert response.status_code == 405, method


def test_media_links_are_presigned_on_the_host_the_browser_used(
    console: ConsoleJobs, session: requests.Session
) -> None:
    port = console.handle.engine.port
    # The cookie by hand: requests matches cookies against an explicit Host header, not the URL.
    cookie = f"iprod_console={session.cookies['iprod_console']}"
    page = requests.get(
        f"{console.base}/jobs/{console.ids['tts']}", headers={"Host": f"localhost:{port}", "Cookie": cookie}
    )
    assert page.status_code == 200
    src = html.unescape(re.search(r'<audio[^>]* src="([^"]+)"', page.text).group(1))
    assert src.startswith(f"http://localhost:{port}/media/console/speech/greeting.wav?")
    assert requests.get(src, timeout=30).status_code == 200
    unsigned = src.split("?", 1)[0]
    assert requests.get(unsigned, timeout=30).status_code == 403  # the console opens no side door


def test_console_paths_leave_object_requests_alone(console: ConsoleJobs) -> None:
    port = console.handle.engine.port
    # Virtual-host style: this names the object "-/console/" in bucket "media", so OSS answers (unsigned).
    response = requests.get(
        f"http://127.0.0.1:{port}/-/console/",
        headers={"Host": f"media.localhost:{port}"},
        allow_redirects=False,
    )
    assert response.status_code == 403 and response.text.startswith("<?xml")
    bare = requests.get(f"http://127.0.0.1:{port}/-/console", allow_redirects=False)
    assert bare.status_code == 308 and bare.headers["Location"] == "/-/console/"
