"""The console's front door: which requests are its own, sign-in, and the page each path shows.

Requests to ``/-/console/...`` in path style come here (``-`` is never a bucket name, so no object
request can mean this path; a virtual-host request, ``bucket.localhost/-/console/x``, names an object
and stays with the object API). Every page except the sign-in page and the style sheet needs a session
(``auth``). The console only reads: GET and HEAD show pages, and POST is taken only to sign in or out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from airflow_iprod.local.config import EngineConfig
from airflow_iprod.local.console import auth
from airflow_iprod.local.console.bucket_pages import bucket_page, buckets_list
from airflow_iprod.local.console.html import CSS, PREFIX, ConsoleError, esc, frame, url
from airflow_iprod.local.console.job_pages import job_page, jobs_list
from airflow_iprod.local.console.job_queries import JobQueries
from airflow_iprod.local.console.outputs import Presign
from airflow_iprod.local.download_urls import DownloadUrls
from airflow_iprod.local.http import HttpRequest, HttpResponse
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_api import split_host

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 8 << 10
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_SECURITY_HEADERS = {
    # No script at all; styles, pictures and media from the engine itself (the presigned URLs are on it).
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_console_request(request: HttpRequest, config: EngineConfig) -> bool:
    path = request.path
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return False
    return split_host(request.host, config)[0] is None


def _reach(host: str) -> str:
    if host in ("127.0.0.1", "localhost", "::1"):
        return "only programs on this machine can reach it"
    if host in ("", "0.0.0.0", "::"):
        return "every network interface of this machine: anyone who can reach this machine can open it"
    return f"the address {host}: anyone who can reach that address can open it"


class Console:
    def __init__(
        self, config: EngineConfig, store: ObjectStore, jobs_db: Path, endpoint: Callable[[], str]
    ) -> None:
        self.config = config
        self.store = store
        self.queries = JobQueries(jobs_db)
        self.urls = DownloadUrls(config, endpoint)
        self.endpoint = endpoint
        self.limiter = auth.SignInLimiter()

    # -- the edge ------------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        user: str | None = None
        try:
            if request.problem is not None:
                raise ConsoleError(request.problem.status, request.problem.message)
            user = auth.session_from(request.headers.get("cookie"), self.config)
            return self._route(request, user)
        except ConsoleError as err:
            return self._html(
                err.status, frame(_ERROR_TITLES.get(err.status, "Error"), _error(err), user=user)
            )
        except Exception:  # a bug: say so without details (they go to the engine's log)
            log.exception("console page %s failed", request.path)
            err = ConsoleError(
                500, "The console failed to build this page; the engine's log has the details."
            )
            return self._html(500, frame("Internal error", _error(err), user=user))

    def _route(self, request: HttpRequest, user: str | None) -> HttpResponse:
        try:
            path = unquote(request.path[len(PREFIX) :], errors="strict")
        except UnicodeDecodeError:
            raise ConsoleError(400, "The path is not valid percent-encoded UTF-8.") from None
        if path == "":  # the session cookie's Path is /-/console/: send the browser there
            return _redirect(PREFIX + "/", 308)
        method = request.method
        if path == "/static/console.css":
            self._only(method, "GET", "HEAD")
            response = HttpResponse(200, {"Content-Type": "text/css; charset=utf-8"}, CSS.encode())
            response.headers["Cache-Control"] = "max-age=300"
            return response
        if path == "/login":
            self._only(method, "GET", "HEAD", "POST")
            query = dict(request.query)
            if method == "POST":
                return self._sign_in(request, query.get("next"))
            return self._login_page(200, query.get("next"), "", "")
        if path == "/logout":
            self._only(method, "POST")
            response = _redirect(url("/login"), 303)
            response.headers["Set-Cookie"] = auth.clear_cookie()
            return response
        if user is None:
            target = urlsplit(request.target)
            back = urlunsplit(("", "", target.path, target.query, ""))
            return _redirect(url("/login", next=back), 303)
        self._only(method, "GET", "HEAD")
        query = dict(request.query)
        if path in ("/", "/jobs", "/jobs/"):
            body, unfinished = jobs_list(self.queries, query, self.endpoint())
            return self._page("Jobs", body, user, "jobs", refresh=unfinished)
        if path.startswith("/jobs/"):
            job_id = path[len("/jobs/") :]
            title, body, unfinished = job_page(self.queries, self.store, self._presigner(request), job_id)
            return self._page(title, body, user, "jobs", refresh=unfinished)
        if path in ("/buckets", "/buckets/"):
            return self._page("Buckets", buckets_list(self.store), user, "buckets")
        if path.startswith("/buckets/"):
            bucket = path[len("/buckets/") :].rstrip("/")
            body = bucket_page(self.store, self._presigner(request), bucket, query)
            return self._page(f"Bucket {bucket}", body, user, "buckets")
        raise ConsoleError(404, f"The console has no page at {request.path!r}.")

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ConsoleError(
                405, f"{method} is not allowed here (the console is read-only): {', '.join(allowed)}"
            )

    # -- signing in ----------------------------------------------------------------------------------

    def _sign_in(self, request: HttpRequest, next_target: str | None) -> HttpResponse:
        body = request.body
        if not body and request.body_stream is not None:
            body = request.body_stream.read(MAX_FORM_BYTES + 1)
        if len(body) > MAX_FORM_BYTES:
            raise ConsoleError(413, f"The sign-in form has more than {MAX_FORM_BYTES} bytes.")
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        key_id = form.get("access_key_id", "").strip()
        secret = form.get("access_key_secret", "")
        next_target = form.get("next") or next_target
        if not key_id or not secret:
            missing = "AccessKeyId" if not key_id else "AccessKeySecret"
            return self._login_page(400, next_target, key_id, f"{missing} is empty: give both.")
        wait = self.limiter.wait_s(request.client)
        if wait > 0:
            seconds = max(1, round(wait))
            problem = f"Too many refused sign-ins from {request.client}: try again in {seconds} s."
            response = self._login_page(429, next_target, key_id, problem)
            response.headers["Retry-After"] = str(seconds)
            return response
        if not auth.check_login(self.config, key_id, secret):
            self.limiter.refused(request.client)
            log.warning("console sign-in refused for AccessKeyId %r from %s", key_id[:64], request.client)
            return self._login_page(
                401, next_target, key_id, "Sign-in refused: that AccessKeyId and AccessKeySecret are not a "
                "key of this engine.",
            )  # fmt: skip
        response = _redirect(auth.safe_next(next_target), 303)
        response.headers["Set-Cookie"] = auth.set_cookie(auth.issue(self.config, key_id), self.config.tls)
        return response

    def _login_page(self, status: int, next_target: str | None, key_id: str, problem: str) -> HttpResponse:
        host = self.config.host
        refused = f'<p class="error-box" role="alert">{esc(problem)}</p>' if problem else ""
        body = (
            f'{refused}<form class="login" method="post" action="{esc(url("/login"))}">'
            f'<input type="hidden" name="next" value="{esc(auth.safe_next(next_target))}">'
            '<label for="access_key_id">AccessKeyId</label>'
            f'<input id="access_key_id" name="access_key_id" autocomplete="username" value="{esc(key_id)}">'
            '<label for="access_key_secret">AccessKeySecret</label>'
            '<input id="access_key_secret" name="access_key_secret" type="password" '
            'autocomplete="current-password">'
            '<button type="submit">Sign in</button></form>'
            '<p class="note">Sign in with an access key this engine knows: the one in its data dir\'s '
            "<code>credentials.json</code>, or the one it was started with (<code>--access-key-id</code>). "
            "The console is read-only; the session cookie holds a signed token, never the secret.</p>"
            f'<p class="note binding">The console binds where the engine binds: '
            f'<span class="mono">{esc(self.endpoint())}{esc(PREFIX)}/</span>, '
            f"so {esc(_reach(host))}.</p>"
        )
        return self._html(status, frame("Sign in to the local console", body))

    # -- helpers -------------------------------------------------------------------------------------

    def _presigner(self, request: HttpRequest) -> Presign:
        """Presigned GETs on the host the browser used (an OSS V1 signature does not cover the host), so
        the media are same-origin for the page even when the engine listens on every interface."""
        host = request.host
        use_host = bool(host) and _HOST.fullmatch(host) is not None

        def presign(oss_url: str) -> str:
            signed = self.urls.for_object(oss_url)
            return urlunsplit(urlsplit(signed)._replace(netloc=host)) if use_host else signed

        return presign

    def _page(self, title: str, body: str, user: str, active: str, refresh: bool = False) -> HttpResponse:
        return self._html(200, frame(title, body, user=user, active=active, refresh=refresh))

    @staticmethod
    def _html(status: int, document: str) -> HttpResponse:
        headers = {"Content-Type": "text/html; charset=utf-8", **_SECURITY_HEADERS}
        return HttpResponse(status, headers, document.encode("utf-8"))


_ERROR_TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    429: "Too many requests",
    500: "Internal error",
}


def _error(err: ConsoleError) -> str:
    return f'<p class="error-box" role="alert">{esc(err.message)}</p><p>{_home_link()}</p>'


def _home_link() -> str:
    return f'<a href="{esc(url("/jobs"))}">Back to the jobs</a>'


def _redirect(location: str, status: int) -> HttpResponse:
    headers = {"Location": quote(location, safe="/?&=%:+-._~#"), "Cache-Control": "no-store"}
    return HttpResponse(status, headers, b"")
