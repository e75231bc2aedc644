"""Credentials for a connection that carries no keys: the Alibaba Cloud default credential chain.

Both SDK clients the provider builds (ICE/MPS in the hook, OSS in :mod:`airflow_iprod.oss_client`)
take their keys from the connection when it has them (``access_key_id`` + ``access_key_secret``,
plus ``security_token`` for STS). Without keys they use the chain of ``alibabacloud_credentials``
(``Client()`` with no config), the one the official SDKs document, tried in this order:

1. ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` (/ ``ALIBABA_CLOUD_SECURITY_TOKEN``);
2. OIDC role (RRSA on ACK): ``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN``,
   ``ALIBABA_CLOUD_OIDC_TOKEN_FILE``;
3. the aliyun CLI's ``~/.aliyun/config.json`` (off with ``ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true``);
4. the credentials file ``~/.alibabacloud/credentials.ini`` or ``ALIBABA_CLOUD_CREDENTIALS_FILE``
   (profile ``ALIBABA_CLOUD_PROFILE``, default ``default``);
5. the ECS/ECI instance RAM role from the metadata server (off with
   ``ALIBABA_CLOUD_ECS_METADATA_DISABLED=true``; ``ALIBABA_CLOUD_ECS_METADATA`` names the role);
6. a credentials URI, ``ALIBABA_CLOUD_CREDENTIALS_URI``.

Temporary credentials (STS from a role) are refreshed by the library before they expire, so one client
serves a long-running triggerer. The library reads those variables once, when first imported.
Imports stay inside the functions: the hook module is imported when DAG files are parsed.
"""

from __future__ import annotations

from typing import Any


def default_chain() -> Any:
    """A fresh ``alibabacloud_credentials`` client on the default chain (for ``Config.credential``)."""
    from alibabacloud_credentials.client import Client

    return Client()


def oss_credentials_provider(chain: Any | None = None) -> Any:
    """The default chain (or ``chain``) as an ``alibabacloud_oss_v2`` credentials provider.

    The OSS SDK asks its provider on every request; the chain hands back its cached credentials and
    refreshes temporary ones itself, so nothing is fetched per request.
    """
    import alibabacloud_oss_v2 as oss

    source = chain if chain is not None else default_chain()

    def current() -> Any:
        value = source.get_credential()
        return oss.credentials.Credentials(
            access_key_id=value.access_key_id,
            access_key_secret=value.access_key_secret,
            security_token=value.security_token,
        )

    return oss.credentials.CredentialsProviderFunc(current)
