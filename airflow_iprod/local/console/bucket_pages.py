"""The console's bucket browser: the buckets, then one bucket's keys folder by folder (``/`` roll-up)."""

from __future__ import annotations

from airflow_iprod import catalog
from airflow_iprod.local.console.html import ConsoleError, esc, link, size, table, url, when
from airflow_iprod.local.console.outputs import Presign
from airflow_iprod.local.objects import ObjectStore
from airflow_iprod.local.oss_errors import OssError

PAGE_SIZE = 200
MAX_KEY_CHARS = 1023  # OSS's limit on an object name, so on a prefix or a marker too


def buckets_list(store: ObjectStore) -> str:
    buckets, _ = store.list_buckets(max_keys=1000)
    if not buckets:
        return '<p class="note">The engine has no buckets yet.</p>'
    rows = [[link(url(f"/buckets/{b.name}"), b.name), esc(b.region), esc(when(b.created))] for b in buckets]
    return table(["Bucket", "Region", "Created (UTC)"], rows, "buckets")


def _crumbs(bucket: str, prefix: str) -> str:
    parts = [link(url("/buckets"), "buckets"), link(url(f"/buckets/{bucket}"), bucket)]
    walked = ""
    for segment in prefix.split("/")[:-1] if prefix else []:
        walked += segment + "/"
        parts.append(link(url(f"/buckets/{bucket}", prefix=walked), segment or "(empty)"))
    return f'<div class="crumbs">{" / ".join(parts)}</div>'


def _check(name: str, value: str) -> str:
    if len(value) > MAX_KEY_CHARS:
        raise ConsoleError(400, f"{name} has {len(value)} characters: at most {MAX_KEY_CHARS}")
    return value


def bucket_page(store: ObjectStore, presign: Presign, bucket: str, query: dict[str, str]) -> str:
    """One folder of ``bucket``: its sub-folders, then its objects, a page at a time."""
    prefix = _check("prefix", query.get("prefix", ""))
    after = _check("after", query.get("after", ""))
    try:
        listing = store.list_objects(
            bucket, prefix=prefix, delimiter="/", start_after=after, max_keys=PAGE_SIZE
        )
    except OssError as err:
        status = 404 if err.status == 404 else 400
        raise ConsoleError(status, f"bucket {bucket!r}: {err.message}") from None
    rows = []
    for common in listing.common_prefixes:
        name = common[len(prefix) :]
        rows.append([link(url(f"/buckets/{bucket}", prefix=common), name, "folder"), "", "", "", ""])
    for info in listing.contents:
        try:
            download = f'<a href="{esc(presign(f"oss://{bucket}/{info.key}"))}">download</a>'
        except catalog.ValidationError:  # a key no URL can name (a folder marker ending in "/")
            download = ""
        rows.append(
            [
                f'<span class="mono object">{esc(info.key[len(prefix) :] or info.key)}</span>',
                f'<span class="num" title="{info.size} bytes">{esc(size(info.size))}</span>',
                esc(when(info.mtime)),
                esc(info.content_type),
                download,
            ]
        )
    parts = [_crumbs(bucket, prefix)]
    if rows:
        parts.append(table(["Name", "Size", "Last modified (UTC)", "Type", ""], rows, "objects"))
    else:
        parts.append('<p class="note">Nothing under this prefix.</p>')
    if listing.truncated:
        parts.append(
            '<div class="pager">'
            + link(url(f"/buckets/{bucket}", prefix=prefix, after=listing.next_marker), "Next page →")
            + "</div>"
        )
    return "".join(parts)
