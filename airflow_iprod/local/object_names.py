"""Which bucket names and object keys the local object store accepts (OSS's rules, plus path safety)."""

from __future__ import annotations

import re

from airflow_iprod.catalog.params import object_key_problem
from airflow_iprod.local.oss_errors import invalid_bucket_name, invalid_object_name

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def validate_bucket_name(bucket: str) -> str:
    """OSS bucket naming rule; the name is also safe as a single directory name."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        raise invalid_bucket_name(str(bucket))
    return bucket


def validate_key(key: str) -> str:
    """OSS object-name rules plus path safety: the catalog's one rule (``object_key_problem``), also
    applied at Submit to Input, Output and secondary-input keys."""
    problem = object_key_problem(key)
    if problem:
        raise invalid_object_name(str(key), problem)
    return key
