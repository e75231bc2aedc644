"""The ``oss://`` filesystem of ``ObjectStoragePath``: ``ossfs`` built from an ``alibaba_cloud`` connection.

``ObjectStoragePath("oss://media/out/talk.srt", conn_id="iprod").read_text()`` reads through the same
connection the operators use, so a DAG reads a job's outputs from the cloud or the local engine alike:

* keys: the connection's ``access_key_id`` / ``access_key_secret`` and ``security_token`` (STS);
  without keys, the Alibaba Cloud default credential chain (:mod:`airflow_iprod.credentials`), asked
  once when the filesystem is made (a temporary credential from a role then serves that filesystem
  for its lifetime, an hour or more: one task);
* endpoint: the ``oss_endpoint`` extra; else, for a local engine (``endpoint`` on 127.0.0.1/localhost),
  the engine itself, whose OSS API shares the RPC port (``ossfs``'s client, ``oss2``, goes path-style
  on an IP or localhost); else the region's public endpoint, ``oss-REGION.aliyuncs.com``;
* ``storage_options`` (Airflow passes them through) override any ``OSSFileSystem`` argument.

Airflow imports this module when it first resolves a scheme; ``ossfs`` is imported only in ``get_fs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

schemes = ["oss"]


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> AbstractFileSystem:
    from ossfs import OSSFileSystem

    options = fs_options(conn_id)
    options.update(storage_options or {})
    return OSSFileSystem(**options)


def fs_options(conn_id: str | None) -> dict[str, Any]:
    """``OSSFileSystem`` arguments for the connection ``conn_id`` (the default connection when None)."""
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.oss_client import LOCAL_HOSTS

    hook = IProductionHook(conn_id) if conn_id else IProductionHook()
    settings = hook.settings()
    oss_endpoint = hook.extras.get("oss_endpoint")
    if oss_endpoint:
        endpoint = oss_endpoint if "://" in oss_endpoint else f"{settings.protocol}://{oss_endpoint}"
    elif settings.endpoint.rsplit(":", 1)[0] in LOCAL_HOSTS:
        endpoint = f"{settings.protocol}://{settings.endpoint}"
    else:
        endpoint = f"{settings.protocol}://oss-{settings.region}.aliyuncs.com"
    key, secret, token = settings.access_key_id, settings.access_key_secret, settings.security_token
    if not (key and secret):
        from airflow_iprod.credentials import default_chain

        found = default_chain().get_credential()
        key, secret, token = found.access_key_id, found.access_key_secret, found.security_token
    return {"endpoint": endpoint, "key": key, "secret": secret, "token": token or None}
