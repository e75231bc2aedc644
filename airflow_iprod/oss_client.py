"""An ``alibabacloud_oss_v2`` client built from an IProduction connection (for example DAGs' uploads).

Keys, STS token and region come from the ``alibaba_cloud`` connection; without keys, from the Alibaba
Cloud default credential chain (environment, OIDC/RRSA, credentials file, ECS RAM role ...), exactly
as the hook's ICE/MPS client does (:mod:`airflow_iprod.credentials`). The OSS endpoint is the
``oss_endpoint`` extra, else the SDK's regional default; a local-engine connection (endpoint on
127.0.0.1/localhost) serves OSS on the same port, path-style. Imports stay inside the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def oss_client_for(conn: str | IProductionHook) -> Any:
    """A client for the connection id ``conn`` (or the connection an existing hook has loaded)."""
    import alibabacloud_oss_v2 as oss

    from airflow_iprod.hooks.iproduction import IProductionHook

    hook = conn if isinstance(conn, IProductionHook) else IProductionHook(conn)
    settings = hook.settings()
    endpoint = hook.extras.get("oss_endpoint")
    local = endpoint is None and settings.endpoint.rsplit(":", 1)[0] in LOCAL_HOSTS
    cfg = oss.config.load_default()
    if settings.access_key_id and settings.access_key_secret:
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
            settings.access_key_id, settings.access_key_secret, settings.security_token
        )
    else:
        from airflow_iprod.credentials import oss_credentials_provider

        cfg.credentials_provider = oss_credentials_provider()
    cfg.region = settings.region
    if endpoint or local:
        cfg.endpoint = endpoint or f"{settings.protocol}://{settings.endpoint}"
        cfg.use_path_style = local
    return oss.Client(cfg)
