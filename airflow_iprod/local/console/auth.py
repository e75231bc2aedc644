"""Who may read the console: a person who knows one of the engine's access keys.

The login form takes an AccessKeyId and its AccessKeySecret. On success the browser gets a session
cookie (HttpOnly, SameSite=Strict, scoped to the console's path) holding ``id.expiry.mac``: ``id`` is
the AccessKeyId in base64url and ``mac`` an HMAC-SHA256 of ``id.expiry`` under a key derived from that
credential's secret. The secret itself never leaves the engine; a session ends when it expires or its
key is removed or changed, and survives an engine restart with the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import deque
from http.cookies import CookieError, SimpleCookie

from airflow_iprod.local.config import EngineConfig
from airflow_iprod.local.console.html import PREFIX

COOKIE = "iprod_console"
SESSION_S = 12 * 3600
_PURPOSE = b"airflow-iprod local console session v1"


def _mac(secret: str, payload: str) -> str:
    session_key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(session_key, payload.encode(), hashlib.sha256).hexdigest()


def _b64(text: str) -> str:
    """Cookie-safe spelling of a key id (whatever characters it has)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def check_login(config: EngineConfig, key_id: str, secret: str) -> bool:
    """True when ``key_id`` is one of the engine's keys and ``secret`` is its secret."""
    credential = config.credential(key_id.strip())
    if credential is None:
        hmac.compare_digest(secret.encode(), b"x" * len(secret))  # the same work for an unknown key
        return False
    return hmac.compare_digest(secret.encode(), credential.access_key_secret.encode())


def issue(config: EngineConfig, key_id: str, now: float | None = None) -> str:
    """A session token for ``key_id`` (which must be one of the engine's keys)."""
    credential = config.credential(key_id)
    if credential is None:
        raise KeyError(key_id)
    payload = f"{_b64(key_id)}.{int((now or time.time()) + SESSION_S)}"
    return f"{payload}.{_mac(credential.access_key_secret, payload)}"


def verify(config: EngineConfig, token: str, now: float | None = None) -> str | None:
    """The AccessKeyId a valid, unexpired token was issued for; None otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) < (now or time.time()):
        return None
    try:
        key_id = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    credential = config.credential(key_id)
    if credential is None:
        return None
    expected = _mac(credential.access_key_secret, f"{parts[0]}.{parts[1]}")
    mac = parts[2]
    return key_id if hmac.compare_digest(mac.encode(), expected.encode()) else None


def session_from(cookie_header: str | None, config: EngineConfig) -> str | None:
    """The signed-in AccessKeyId from a request's ``Cookie`` header, if any."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return verify(config, morsel.value) if morsel is not None else None


def set_cookie(token: str, secure: bool = False) -> str:
    """``secure`` (the engine serves HTTPS): the browser sends the cookie over HTTPS only."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={token}; Path={PREFIX}/; Max-Age={SESSION_S}; HttpOnly; SameSite=Strict{flags}"


def clear_cookie() -> str:
    return f"{COOKIE}=; Path={PREFIX}/; Max-Age=0; HttpOnly; SameSite=Strict"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site: no open redirect)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/jobs"


class SignInLimiter:
    """At most ``limit`` refused sign-ins per client address in any ``window_s`` seconds, then every
    sign-in from it waits (429), right secret or not: guessing a secret through the form stays slow."""

    def __init__(self, limit: int = 10, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._refused: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str, now: float | None = None) -> float:
        """Seconds ``client`` must wait before it may try again (0: it may)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._refused.get(client)
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if not times:
                self._refused.pop(client, None)
                return 0.0
            return times[0] + self.window_s - now if len(times) >= self.limit else 0.0

    def refused(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._refused) > 10_000:  # many addresses: forget the stale ones
                for stale in [c for c, t in self._refused.items() if not t or t[-1] <= now - self.window_s]:
                    del self._refused[stale]
            self._refused.setdefault(client, deque()).append(now)
