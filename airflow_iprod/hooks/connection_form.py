"""The ``iprod`` connection form: the one definition of the connection's extras.

Each :class:`Field` is an extra the hook reads (under its ``name``). From this table come
* the provider info's ``conn-fields`` and ``ui-field-behaviour`` (Airflow >= 3.2 builds the form from
  them without importing the hook);
* ``IProductionHook.get_connection_form_widgets`` / ``get_ui_field_behaviour`` for Airflow 3.0/3.1,
  which still ask the hook (wtforms / flask_babel imported lazily: the API server mocks them when FAB is
  not installed);
* :func:`read_extras`, which also accepts the prefixed names older UIs stored
  (``extra__iprod__region``, ``extra__alibaba_cloud__access_key_id``).

Pure data and no imports at module top: :func:`airflow_iprod.get_provider_info` reads it in every
Airflow process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONN_TYPE = "iprod"
LEGACY_CONN_TYPE = "alibaba_cloud"  # providers-alibaba's type; such connections keep working
HIDDEN_FIELDS = ("host", "schema", "login", "password", "port")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    description: str
    examples: tuple[str, ...] = ()
    secret: bool = False


FIELDS: tuple[Field, ...] = (
    Field(
        "access_key_id",
        "AccessKey ID",
        "Leave the keys empty to use the Alibaba Cloud default credential chain (environment, "
        "OIDC/RRSA, credentials file, ECS RAM role).",
    ),
    Field("access_key_secret", "AccessKey secret", "The AccessKey ID's secret.", secret=True),
    Field("security_token", "STS token", "Security token of temporary (STS) credentials.", secret=True),
    Field(
        "region",
        "Region",
        "Region ID of the ICE/MPS service and of OSS (default cn-shanghai).",
        ("cn-shanghai", "cn-beijing", "cn-hangzhou", "cn-shenzhen", "ap-southeast-1"),
    ),
    Field(
        "endpoint",
        "Endpoint",
        "ICE/MPS API endpoint, host[:port] or a URL (default ice.<region>.aliyuncs.com or "
        "mts.<region>.aliyuncs.com). The local engine prints its own.",
        ("ice.cn-shanghai.aliyuncs.com", "mts.cn-shanghai.aliyuncs.com", "127.0.0.1:8765"),
    ),
    Field(
        "protocol",
        "Protocol",
        "https (default) or http; a URL in Endpoint sets it too.",
        ("https", "http"),
    ),
    Field(
        "oss_endpoint",
        "OSS endpoint",
        "OSS endpoint for inputs and outputs (default: the region's; the local engine serves OSS on "
        "its own port).",
        ("oss-cn-shanghai.aliyuncs.com", "oss-cn-shanghai-internal.aliyuncs.com"),
    ),
    Field(
        "mns_endpoint",
        "MNS endpoint",
        "Message Service endpoint of the queue that receives job callbacks (callback mode).",
        ("https://<account-id>.mns.cn-shanghai.aliyuncs.com",),
    ),
    Field(
        "callback_queue",
        "Callback queue",
        'MNS queue that callback mode (wait_mode="callback") waits on; ICE needs a name starting '
        "ice-callback- (SetEventCallback).",
        ("ice-callback-jobs",),
    ),
    Field(
        "ca_bundle",
        "CA bundle",
        "Path to a PEM file of CA certificates to trust for the endpoint's TLS (e.g. the local "
        "engine's own certificate). Default: the system's trust store.",
        ("/etc/ssl/certs/iprod-engine.pem",),
    ),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)


def conn_fields() -> dict[str, dict[str, Any]]:
    """The provider info's ``conn-fields``: label, description and a JSON schema per extra. The UI
    offers ``examples`` as the field's suggestions (its placeholder)."""
    out: dict[str, dict[str, Any]] = {}
    for f in FIELDS:
        schema: dict[str, Any] = {"type": ["string", "null"]}
        if f.secret:
            schema["format"] = "password"
        if f.examples:
            schema["examples"] = list(f.examples)
        out[f.name] = {"label": f.label, "description": f.description, "schema": schema}
    return out


def placeholders() -> dict[str, str]:
    return {f.name: f.examples[0] for f in FIELDS if f.examples}


def ui_field_behaviour() -> dict[str, Any]:
    """What the hook's ``get_ui_field_behaviour`` returns (python-style keys)."""
    return {"hidden_fields": list(HIDDEN_FIELDS), "relabeling": {}, "placeholders": placeholders()}


def provider_ui_field_behaviour() -> dict[str, Any]:
    """The same, as the provider info's ``ui-field-behaviour`` (kebab-case keys)."""
    return {"hidden-fields": list(HIDDEN_FIELDS), "relabeling": {}, "placeholders": placeholders()}


def connection_form_widgets() -> dict[str, Any]:
    """wtforms fields for Airflow 3.0/3.1 (imported here: never at DAG parse time)."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for f in FIELDS:
        secret = f.secret
        cls, widget = (PasswordField, BS3PasswordFieldWidget) if secret else (StringField, BS3TextFieldWidget)
        widgets[f.name] = cls(
            lazy_gettext(f.label), widget=widget(), validators=[Optional()], description=f.description
        )
    return widgets


def read_extras(extra: dict[str, Any] | None) -> dict[str, Any]:
    """A connection's extras with the form's names: an unprefixed value wins, else the value an older
    UI stored as ``extra__iprod__<name>`` or ``extra__alibaba_cloud__<name>``. Other keys are kept."""
    out = dict(extra or {})
    for name in FIELD_NAMES:
        if out.get(name) in (None, ""):
            for conn_type in (CONN_TYPE, LEGACY_CONN_TYPE):
                value = out.get(f"extra__{conn_type}__{name}")
                if value not in (None, ""):
                    out[name] = value
                    break
    return out
