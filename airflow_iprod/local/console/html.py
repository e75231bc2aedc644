"""HTML building blocks of the console: escaping, links, the page frame and its style sheet.

Every value that reaches a page goes through :func:`esc` (job fields, object keys and query parameters
are user input). Pages are plain strings; there is no template engine and no script.
"""

from __future__ import annotations

import html
import time
from urllib.parse import quote, urlencode

PREFIX = "/-/console"
CSS_PATH = f"{PREFIX}/static/console.css"
ACTIVE = ' class="active"'


class ConsoleError(Exception):
    """A request the console answers with an error page (``status``) saying ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def esc(value: object) -> str:
    """``value`` as HTML text, safe inside elements and double- or single-quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def url(path: str, **query: object) -> str:
    """A console URL: ``path`` under the prefix, its segments percent-encoded, empty parameters left out."""
    pairs = [(k, str(v)) for k, v in query.items() if v not in (None, "")]
    text = PREFIX + quote(path, safe="/")
    return text + ("?" + urlencode(pairs) if pairs else "")


def link(href: str, text: object, cls: str = "") -> str:
    attr = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{attr}>{esc(text)}</a>'


def when(epoch: float | None) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM:SS`` UTC (``-`` when not yet)."""
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def size(count: int) -> str:
    """Bytes as a short human size (``1.5 MB``); the exact count goes in the cell's title."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


def status_badge(status: str) -> str:
    return f'<span class="status status-{esc(status.lower())}">{esc(status)}</span>'


def table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table of already-rendered cells (callers escape what they put in)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def definition_list(items: list[tuple[str, str]]) -> str:
    """``<dl>`` of (label, already-rendered value)."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


REFRESH_S = 3  # how often a page showing an unfinished job reloads itself (no script: a meta refresh)


def frame(title: str, body: str, *, user: str | None = None, active: str = "", refresh: bool = False) -> str:
    """The whole document: header with navigation (and who is signed in), then ``body``; ``refresh``:
    the page reloads every REFRESH_S seconds (it shows a job that has not finished)."""
    nav = ""
    if user is not None:
        items = [("jobs", url("/jobs"), "Jobs"), ("buckets", url("/buckets"), "Buckets")]
        links = "".join(
            f'<a href="{esc(href)}"{ACTIVE if key == active else ""}>{esc(text)}</a>'
            for key, href, text in items
        )
        nav = (
            f'<nav>{links}</nav><form class="logout" method="post" action="{esc(url("/logout"))}">'
            f'<span class="who">{esc(user)}</span><button type="submit">Sign out</button></form>'
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + (f'<meta http-equiv="refresh" content="{REFRESH_S}">' if refresh else "")
        + f"<title>{esc(title)} · iprod local console</title>"
        f'<link rel="stylesheet" href="{esc(CSS_PATH)}"></head><body>'
        f'<header><span class="brand">iprod local engine</span>{nav}</header>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )


CSS = """
:root { --fg: #1d2433; --muted: #5b6475; --line: #d9dde5; --bg: #f6f7f9; --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2433;
  color: #fff; }
header .brand { font-weight: 600; }
header nav a { color: #c9d4ea; margin-right: 16px; text-decoration: none; }
header nav a.active, header nav a:hover { color: #fff; text-decoration: underline; }
header .logout { margin-left: auto; display: flex; gap: 10px; align-items: center; }
header .who { color: #c9d4ea; font-family: ui-monospace, monospace; font-size: 12px; }
main { padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 20px; margin: 8px 0 16px; word-break: break-all; }
h2 { font-size: 16px; margin: 24px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f4; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 420px;
  white-space: pre-wrap; word-break: break-word; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff;
  border: 1px solid var(--line); padding: 10px 14px; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.status-success { background: #dff3e4; color: #17622e; }
.status-fail { background: #fbe1e1; color: #9b1c1c; }
.status-queuing { background: #eceff3; color: #4a5263; }
.status-analyzing { background: #e1ecfb; color: #1f4f99; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 4px 8px; }
.pager { margin: 10px 0; display: flex; gap: 16px; align-items: center; color: var(--muted); }
.error-box { background: #fbe1e1; border: 1px solid #e7b3b3; padding: 10px 14px; color: #7a1515; }
.note { color: var(--muted); }
.output { background: #fff; border: 1px solid var(--line); padding: 10px 14px; margin-bottom: 12px; }
.output img { max-width: 480px; max-height: 360px; border: 1px solid var(--line); display: block; }
.output video { max-width: 640px; max-height: 360px; display: block; }
.crumbs { margin-bottom: 10px; }
.login { max-width: 460px; background: #fff; border: 1px solid var(--line); padding: 16px 20px; }
.login label { display: block; margin: 10px 0 4px; }
.login input { width: 100%; }
.login button { margin-top: 14px; }
"""
