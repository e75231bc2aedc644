"""ListObjects over the metadata database: keys in byte order, rolled up into common prefixes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from airflow_iprod.local.object_db import OBJECT_COLUMNS, ObjectInfo, object_from_row, require_bucket


@dataclass
class ListPage:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    truncated: bool
    next_marker: str  # the last key or common prefix returned, when truncated


def _key_successor(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None when there is none)."""
    while prefix:
        last = ord(prefix[-1])
        nxt = last + 1
        if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be stored in UTF-8
            nxt = 0xE000
        if nxt <= 0x10FFFF:
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


def list_objects(
    db: sqlite3.Connection, bucket: str, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> ListPage:
    """Keys after ``start_after`` under ``prefix`` in byte order, rolling up at ``delimiter``.

    ``max_keys`` counts keys and common prefixes together, as OSS does. A common prefix is skipped over in
    one query (the cursor jumps past every key under it), so a wide roll-up costs one query, not one a key.
    """
    require_bucket(db, bucket)
    upper = _key_successor(prefix) if prefix else None
    cursor, inclusive = (max(start_after, prefix), False) if start_after >= prefix else (prefix, True)
    contents: list[ObjectInfo] = []
    prefixes: list[str] = []
    last = ""
    while True:
        sql = f"SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=? AND key {'>=' if inclusive else '>'} ?"
        args: list[object] = [bucket, cursor]
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        rows = db.execute(sql + " ORDER BY key LIMIT 1000", args).fetchall()
        if not rows:
            return ListPage(contents, prefixes, False, "")
        jumped = False
        for row in rows:
            key = row[0]
            if len(contents) + len(prefixes) >= max_keys:
                return ListPage(contents, prefixes, True, last)
            rest = key[len(prefix) :]
            cut = rest.find(delimiter) if delimiter else -1
            if cut >= 0:
                common = prefix + rest[: cut + len(delimiter)]
                if common > start_after:  # a prefix handed out as the marker is not repeated
                    prefixes.append(common)
                    last = common
                nxt = _key_successor(common)
                if nxt is None:
                    return ListPage(contents, prefixes, False, "")
                cursor, inclusive, jumped = nxt, True, True
                break
            contents.append(object_from_row(bucket, row))
            last = key
        if not jumped:
            cursor, inclusive = rows[-1][0], False
