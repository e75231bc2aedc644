"""An ``alibabacloud_oss_v2`` client from a connection's ClientSettings (MPS output lookup, DAG uploads).

Keys and STS token come from the settings; without keys, from the Alibaba Cloud default credential
chain (environment, OIDC/RRSA, credentials file, ECS RAM role ...), exactly as the hook's ICE/MPS
client does (:mod:`airflow_iprod.credentials`). The OSS endpoint is the ``oss_endpoint`` extra, else
the SDK's regional default; a local-engine connection (endpoint on 127.0.0.1/localhost) serves OSS on
the same port, path-style. Get one with ``IProductionHook(conn_id).oss_client()``. Imports stay inside
the function: this module is imported while DAGs are parsed.
"""

from __future__ import annotations

from typing import Any

from airflow_iprod.client_settings import ClientSettings

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_oss_client(settings: ClientSettings, oss_endpoint: str | None = None) -> Any:
    import alibabacloud_oss_v2 as oss

    local = oss_endpoint is None and settings.endpoint.rsplit(":", 1)[0] in LOCAL_HOSTS
    cfg = oss.config.load_default()
    if settings.access_key_id and settings.access_key_secret:
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
            settings.access_key_id, settings.access_key_secret, settings.security_token
        )
    else:
        from airflow_iprod.credentials import oss_credentials_provider

        cfg.credentials_provider = oss_credentials_provider()
    cfg.region = settings.region
    if oss_endpoint or local:
        cfg.endpoint = oss_endpoint or f"{settings.protocol}://{settings.endpoint}"
        cfg.use_path_style = local
    if settings.ca_bundle:  # the local engine's CA over HTTPS; verification stays on
        cfg.http_client = _trusting_http_client(settings.ca_bundle)
    return oss.Client(cfg)


def _trusting_http_client(ca_bundle: str) -> Any:
    """The SDK's own requests transport, verifying against ``ca_bundle`` instead of certifi's CAs."""
    from alibabacloud_oss_v2.transport import RequestsHttpClient

    client = RequestsHttpClient()
    client._verify = ca_bundle  # handed to requests' ``verify=`` on every call; it takes a CA file path
    return client
