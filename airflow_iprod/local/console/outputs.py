"""A job's files on its page: a player for audio and video, the picture, the text of captions.

Every ``src`` and download link is a presigned GET on the engine's object API (``download_urls``), the
same URL an SDK user gets in OutputUrls: the browser fetches the bytes through the engine's signature
check like any client, and the console itself serves no object bytes.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from posixpath import basename

from airflow_iprod import catalog
from airflow_iprod.local.console.html import esc, size
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError

Presign = Callable[[str], str]  # oss://bucket/key -> presigned http URL

TEXT_EXTS = frozenset({".srt", ".vtt", ".txt", ".json", ".csv", ".ass", ".lrc", ".xml"})
INLINE_TEXT_BYTES = 256 << 10  # more than this is cut (the download link has it all)


def media_kind(key: str, content_type: str) -> str:
    """``audio``, ``video``, ``image``, ``text`` or ``file`` (shown as a download link only)."""
    ext = "." + key.rsplit(".", 1)[-1].lower() if "." in basename(key) else ""
    if ext in TEXT_EXTS:
        return "text"
    kind = (content_type or mimetypes.guess_type(key)[0] or "").split("/", 1)[0]
    if kind in ("audio", "video", "image", "text"):
        return kind
    return "file"


def _inline_text(store: ObjectStore, bucket: str, key: str) -> tuple[str, bool]:
    _, reader = store.open(bucket, key)
    with reader:
        data = reader.read(INLINE_TEXT_BYTES + 1)
    return data[:INLINE_TEXT_BYTES].decode("utf-8", errors="replace"), len(data) > INLINE_TEXT_BYTES


def render_file(oss_url: str, store: ObjectStore, presign: Presign, *, inline_text: bool = True) -> str:
    """One file as a box: its name, size and type, a download link, and its player, picture or text."""
    try:
        bucket, key = catalog.split_oss_url(oss_url)
        info = store.head(bucket, key)
    except (catalog.ValidationError, OssError) as err:
        reason = getattr(err, "message", None) or str(err)
        return (
            f'<div class="output missing"><div class="mono">{esc(oss_url)}</div>'
            f'<p class="note">Not in the object store now: {esc(reason)}</p></div>'
        )
    href = presign(oss_url)
    kind = media_kind(key, info.content_type)
    src = esc(href)
    name = esc(basename(key) or key)
    if kind == "audio":
        view = f'<audio controls preload="metadata" src="{src}" data-file="{name}"></audio>'
    elif kind == "video":
        view = f'<video controls preload="metadata" src="{src}" data-file="{name}"></video>'
    elif kind == "image":
        view = f'<img src="{src}" alt="{name}" data-file="{name}">'
    elif kind == "text" and inline_text:
        text, cut = _inline_text(store, bucket, key)
        more = f'<p class="note">First {size(INLINE_TEXT_BYTES)} shown.</p>' if cut else ""
        view = f'<pre class="file-text" data-file="{name}">{esc(text)}</pre>{more}'
    else:
        view = ""
    return (
        f'<div class="output" data-kind="{esc(kind)}"><div><strong class="mono">{esc(oss_url)}</strong> '
        f'<span class="note" title="{info.size} bytes">{esc(size(info.size))} · {esc(info.content_type)}'
        f'</span> · <a href="{src}" download="{name}">download</a></div>{view}</div>'
    )
