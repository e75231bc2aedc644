"""The ``oss`` asset URI scheme: ``oss://bucket/key`` names one OSS object (or, as ``oss://bucket``, a
bucket). Registered under ``asset-uris`` in the provider info, the way providers-amazon registers
``s3`` and providers-google ``gs``.

Imported by Airflow's providers manager in every process that handles assets, so it imports nothing
heavy at module top (no SDK, no catalog).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset
    from airflow.sdk import Asset

SCHEME = "oss"
# OSS bucket names: 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# A bucket's virtual-host name (bucket.oss-cn-hangzhou.aliyuncs.com, ...-internal too) names the same bucket.
_VIRTUAL_HOST = re.compile(r"(?P<bucket>[^.]+)\.oss-[a-z0-9-]+\.aliyuncs\.com")


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Normalise an ``oss://`` asset URI: the bucket's virtual-host form becomes the bare bucket (both
    name the same objects, so they must be one asset); a bucket that OSS would refuse is an error."""
    host = uri.netloc
    if match := _VIRTUAL_HOST.fullmatch(host):
        host = match["bucket"]
    if not host:
        raise ValueError(f"oss:// asset URI {uri.geturl()!r} has no bucket: expected oss://bucket/key")
    if not _BUCKET.fullmatch(host):
        raise ValueError(
            f"oss:// asset URI {uri.geturl()!r}: bucket {host!r} is not a valid OSS bucket name "
            "(3-63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
        )
    return uri._replace(netloc=host)


def create_asset(*, bucket: str, key: str = "", extra: dict[str, Any] | None = None) -> Asset:
    """``Asset("oss://bucket/key")``; ``key`` may be empty for the whole bucket."""
    from airflow.sdk import Asset

    return Asset(uri=f"{SCHEME}://{bucket}/{key.lstrip('/')}", extra=extra)


def split(uri: str) -> tuple[str, str]:
    """``oss://bucket/key`` -> ``("bucket", "key")`` (key ``""`` for a bucket)."""
    if not uri.startswith(f"{SCHEME}://"):
        raise ValueError(f"{uri!r} is not an oss:// URI")
    bucket, _, key = uri[len(SCHEME) + 3 :].partition("/")
    return bucket, key


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any = None) -> OpenLineageDataset:
    """The OpenLineage dataset for an ``oss://`` asset: namespace ``oss://bucket``, name the object key
    (``/`` for a whole bucket), following the naming of ``s3://`` and ``gs://`` datasets."""
    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset

    bucket, key = split(asset.uri)
    return OpenLineageDataset(namespace=f"{SCHEME}://{bucket}", name=key or "/")
