"""Which bucket names and object keys the local object store accepts (OSS's rules, plus path safety)."""

from __future__ import annotations

import re

from airflow_iprod.local.oss_errors import invalid_bucket_name, invalid_object_name

MAX_KEY_BYTES = 1023
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def validate_bucket_name(bucket: str) -> str:
    """OSS bucket naming rule; the name is also safe as a single directory name."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        raise invalid_bucket_name(str(bucket))
    return bucket


def validate_key(key: str) -> str:
    """OSS object-name rules plus the engine's refusal of anything that looks like path traversal.

    OSS: 1..1023 UTF-8 bytes, not starting with ``/`` or ``\\``. The engine also refuses NUL and control
    characters and ``.``/``..`` segments (split on ``/`` and ``\\``), so a key copied to a file system
    elsewhere cannot climb out either.
    """
    if not isinstance(key, str) or key == "":
        raise invalid_object_name(str(key), "an object name must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise invalid_object_name(key, "an object name must be valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise invalid_object_name(key, f"an object name has at most {MAX_KEY_BYTES} bytes, this has {size}")
    if key[0] in "/\\":
        raise invalid_object_name(key, "an object name must not start with '/' or '\\'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise invalid_object_name(key, "an object name must not contain NUL or control characters")
    if any(part in (".", "..") for part in re.split(r"[/\\]", key)):
        raise invalid_object_name(key, "an object name must not contain '.' or '..' path segments")
    return key
