"""The ``iprod`` connection form is the one definition of the connection's extras: Airflow's two ways of
building the form (provider-info ``conn-fields`` in 3.2+, the hook's widgets in 3.0/3.1) agree, and the
hook reads every field, under its name or the prefixed names older UIs stored."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest

import airflow_iprod
from airflow_iprod.hooks import connection_form
from airflow_iprod.hooks.iproduction import IProductionHook

FORM = {
    "access_key_id": "AKID-form",
    "access_key_secret": "SECRET-form",
    "security_token": "STS-form",
    "region": "cn-beijing",
    "endpoint": "https://ice-vpc.cn-beijing.aliyuncs.com",
    "protocol": "https",
    "oss_endpoint": "oss-cn-beijing-internal.aliyuncs.com",
    "mns_endpoint": "https://123.mns.cn-beijing.aliyuncs.com",
    "callback_queue": "ice-callback-jobs",
    "ca_bundle": "/etc/ssl/certs/engine.pem",
}


def test_the_form_covers_what_the_issue_lists_and_hides_unused_fields() -> None:
    assert set(connection_form.FIELD_NAMES) == set(FORM)
    (entry,) = airflow_iprod.get_provider_info()["connection-types"]
    assert entry["connection-type"] == IProductionHook.conn_type == "iprod"
    assert entry["hook-class-name"] == f"{IProductionHook.__module__}.{IProductionHook.__qualname__}"
    assert entry["hook-name"] == IProductionHook.hook_name
    fields = entry["conn-fields"]
    assert list(fields) == list(connection_form.FIELD_NAMES)
    assert all(f["label"] and f["description"] for f in fields.values())
    secret = {name for name, f in fields.items() if f["schema"].get("format") == "password"}
    assert secret == {"access_key_secret", "security_token"}
    assert fields["region"]["schema"]["examples"][0] == "cn-shanghai"  # the UI's suggestions
    behaviour = entry["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"host", "schema", "login", "password", "port"}
    assert behaviour["placeholders"]["endpoint"] == "ice.cn-shanghai.aliyuncs.com"


def test_widgets_for_airflow_3_0_match_the_declared_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 3.0/3.1 ask the hook for wtforms fields; without FAB installed their API server swaps in
    its own stand-ins (HookMetaService.Mock*) and serialises them. Through that same path our widgets
    give the schema Airflow 3.3 builds from the provider info's conn-fields."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService as Meta
    from airflow.providers_manager import ConnectionFormWidgetInfo, ProvidersManager

    fake = {
        "wtforms": {"StringField": Meta.MockStringField, "PasswordField": Meta.MockPasswordField},
        "wtforms.validators": {"Optional": Meta.MockOptional},
        "flask_babel": {"lazy_gettext": str},
        "flask_appbuilder": {},
        "flask_appbuilder.fieldwidgets": {
            "BS3TextFieldWidget": Meta.MockAnyWidget,
            "BS3PasswordFieldWidget": Meta.MockAnyWidget,
        },
    }
    for name, attrs in fake.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))
    widgets = IProductionHook.get_connection_form_widgets()
    legacy = Meta._convert_extra_fields(
        {
            f"extra__iprod__{name}": ConnectionFormWidgetInfo(
                "IProductionHook", "airflow-iprod", w, name, False
            )
            for name, w in widgets.items()
        }
    )["iprod"]
    declared = {
        name: ProvidersManager._to_api_format(None, name, f)  # type: ignore[arg-type]
        for name, f in connection_form.conn_fields().items()
    }
    for name, param in declared.items():
        schema = {k: v for k, v in param["schema"].items() if k != "examples"}  # wtforms has no examples
        assert legacy[name]["schema"] == schema, name
        assert legacy[name]["description"] == param["description"]
    assert IProductionHook.get_ui_field_behaviour()["hidden_fields"] == [
        "host",
        "schema",
        "login",
        "password",
        "port",
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"region": "cn-beijing"}, {"region": "cn-beijing"}),
        ({"extra__iprod__region": "cn-beijing"}, {"region": "cn-beijing"}),
        ({"extra__alibaba_cloud__access_key_id": "AK"}, {"access_key_id": "AK"}),
        ({"region": "cn-beijing", "extra__iprod__region": "cn-hangzhou"}, {"region": "cn-beijing"}),
        ({"region": "", "extra__iprod__region": "cn-hangzhou"}, {"region": "cn-hangzhou"}),
        ({"unrelated": 1}, {"unrelated": 1}),
    ],
)
def test_read_extras_prefers_the_plain_name_and_falls_back_to_prefixed(
    extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    out = connection_form.read_extras(extra)
    assert {k: v for k, v in out.items() if not k.startswith("extra__")} == expected


def _env_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


@pytest.mark.parametrize("prefix", ["", "extra__iprod__"])
def test_the_hook_reads_every_field_of_the_form(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    extra = {f"{prefix}{k}": v for k, v in FORM.items()}
    hook = IProductionHook(_env_conn(monkeypatch, "iprod_form", {"conn_type": "iprod", "extra": extra}))
    settings = hook.settings()
    assert (settings.access_key_id, settings.access_key_secret, settings.security_token) == (
        "AKID-form",
        "SECRET-form",
        "STS-form",
    )
    assert (settings.region, settings.endpoint, settings.protocol) == (
        "cn-beijing",
        "ice-vpc.cn-beijing.aliyuncs.com",
        "https",
    )
    assert (settings.ca_bundle, settings.mns_endpoint) == (FORM["ca_bundle"], FORM["mns_endpoint"])
    assert hook.extras["oss_endpoint"] == FORM["oss_endpoint"]
    assert settings.is_cloud


def test_an_alibaba_cloud_connection_with_keys_as_login_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """What providers-alibaba's form stores (keys as extras) and the older login/password habit both
    still make an IProductionHook."""
    conn = {
        "conn_type": "alibaba_cloud",
        "login": "AK-login",
        "password": "SK-login",
        "extra": {"region": "cn-hangzhou"},
    }
    settings = IProductionHook(_env_conn(monkeypatch, "iprod_legacy", conn), "mts").settings()
    assert (settings.access_key_id, settings.access_key_secret) == ("AK-login", "SK-login")
    assert (settings.region, settings.endpoint) == ("cn-hangzhou", "mts.cn-hangzhou.aliyuncs.com")
