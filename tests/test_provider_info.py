"""Provider registration: schema-valid provider info that Airflow's ProvidersManager loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import airflow_iprod

SCHEMA = Path(__import__("airflow").__file__).parent / "provider_info.schema.json"


def test_provider_info_matches_airflow_schema():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(airflow_iprod.get_provider_info(), json.loads(SCHEMA.read_text()))


def test_every_registered_module_and_class_imports():
    import importlib

    info = airflow_iprod.get_provider_info()
    for group in ("operators", "sensors", "hooks", "triggers"):
        for entry in info[group]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_generated_operators_are_importable_by_name():
    from airflow_iprod import catalog
    from airflow_iprod.operators import algorithms

    names = {s.name for s in catalog.all_specs()}
    for name in names:
        cls = getattr(algorithms, f"{name}Operator")
        assert cls.__name__ == f"{name}Operator" and cls.__module__ == "airflow_iprod.operators.algorithms"
        assert name in cls.__doc__


def test_importing_the_provider_is_light():
    """get_provider_info() runs in every Airflow process: importing the package pulls in no SDK."""
    code = (
        "import sys, airflow_iprod; airflow_iprod.get_provider_info();"
        "heavy = [m for m in ('airflow', 'alibabacloud_ice20201109', 'numpy') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_providers_manager_loads_it():
    try:
        metadata.distribution("airflow-iprod")
    except metadata.PackageNotFoundError:
        pytest.skip("airflow-iprod is not pip-installed (pip install -e .): no entry point to discover")
    from airflow.providers_manager import ProvidersManager

    # In this process (a fresh interpreter spent 4-8 s importing Airflow): the manager still finds
    # the provider through its installed entry point, as every Airflow component does.
    manager = ProvidersManager()
    assert manager.providers["airflow-iprod"].version == airflow_iprod.__version__
    assert "airflow_iprod.links.IProductionConsoleLink" in manager.extra_links_class_names
    assert any(t.trigger_class_name.startswith("airflow_iprod") for t in manager.trigger)
    # iprod is ours, alibaba_cloud stays providers-alibaba's (see test_conn_types_are_registered_once)
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hooks = ProvidersManagerTaskRuntime().hooks
    assert hooks["alibaba_cloud"].package_name == "apache-airflow-providers-alibaba"
    assert hooks["iprod"].package_name == "airflow-iprod" and hooks["iprod"].connection_testable


# In a fresh interpreter (the managers are process-wide singletons and log while discovering): both
# the core and the task-runtime providers manager, at WARNING, as every Airflow process sees them.
_DISCOVER = """
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
core, runtime = ProvidersManager(), ProvidersManagerTaskRuntime()
widgets = core.connection_form_widgets  # loads hooks and their UI metadata
for conn_type in ("alibaba_cloud", "iprod"):
    for info in (core.hooks[conn_type], runtime.hooks[conn_type]):
        print("HOOK", conn_type, info.package_name, info.hook_class_name, info.connection_id_attribute_name)
print("PROVIDER", "airflow-iprod" in core.providers)
for key, widget in widgets.items():
    if key.startswith(("extra__alibaba_cloud__", "extra__iprod__")):
        print("WIDGET", key.split("__")[1], widget.package_name, widget.field_name)
print("HIDDEN", *core.field_behaviours["iprod"]["hidden_fields"])
"""


@pytest.mark.slow
def test_conn_types_are_registered_once(tmp_path):
    """``iprod`` is ours and ``alibaba_cloud`` stays providers-alibaba's: nothing is registered twice (that
    made Airflow warn in every process and hand one provider's type to the other), and each type gets
    its own provider's hook and form."""
    try:
        metadata.distribution("airflow-iprod")
    except metadata.PackageNotFoundError:
        pytest.skip("airflow-iprod is not pip-installed (pip install -e .): no entry point to discover")
    from airflow.providers.alibaba.cloud.hooks.base_alibaba import AlibabaBaseHook

    from airflow_iprod.hooks import connection_form
    from airflow_iprod.hooks.iproduction import IProductionHook

    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", _DISCOVER], capture_output=True, text=True, check=True, env=env, timeout=120
    )
    logged = out.stdout + out.stderr
    ours = [
        line
        for line in logged.splitlines()
        if ("already" in line or "Inconsistency" in line) and ("alibaba_cloud" in line or "iprod" in line)
    ]
    assert not ours, "\n".join(ours)
    assert "PROVIDER True" in logged  # the provider itself is still discovered
    hooks = {tuple(line.split()[1:]) for line in out.stdout.splitlines() if line.startswith("HOOK")}
    base = f"{AlibabaBaseHook.__module__}.{AlibabaBaseHook.__qualname__}"
    ours_cls = f"{IProductionHook.__module__}.{IProductionHook.__qualname__}"
    assert hooks == {
        ("alibaba_cloud", "apache-airflow-providers-alibaba", base, "alibabacloud_conn_id"),
        ("iprod", "airflow-iprod", ours_cls, IProductionHook.conn_name_attr),
    }
    widgets = {tuple(line.split()[1:]) for line in out.stdout.splitlines() if line.startswith("WIDGET")}
    assert {(t, p) for t, p, _ in widgets} == {
        ("alibaba_cloud", "apache-airflow-providers-alibaba"),
        ("iprod", "airflow-iprod"),
    }
    assert {f for t, _, f in widgets if t == "iprod"} == set(connection_form.FIELD_NAMES)
    assert "HIDDEN host schema login password port" in out.stdout
    # IProductionHook still is an AlibabaBaseHook, so code typed for that base takes it
    assert issubclass(IProductionHook, AlibabaBaseHook)


def test_alibaba_cloud_connection_resolves_and_serves_our_extras(local_engine, make_conn):
    """An ``alibaba_cloud`` connection with our extras (region, endpoint, protocol): the
    registered hook reads it, and IProductionHook on the same connection reaches the engine with them."""
    from airflow.providers.alibaba.cloud.hooks.base_alibaba import AlibabaBaseHook
    from airflow.sdk import BaseHook

    from airflow_iprod.hooks.iproduction import IProductionHook

    conn_id = make_conn(local_engine, "iprod_typed", region="cn-beijing")
    resolved = BaseHook.get_connection(conn_id).get_hook()
    assert type(resolved) is AlibabaBaseHook
    assert resolved.get_access_key_credential().access_key_id == local_engine.access_key_id
    assert resolved._get_field("endpoint") == local_engine.endpoint
    hook = IProductionHook(conn_id)
    settings = hook.settings()
    assert (settings.region, settings.endpoint, settings.protocol) == (
        "cn-beijing",
        local_engine.endpoint,
        "http",
    )
    ok, message = hook.test_connection()  # a signed Query the engine verifies
    assert ok, message


def test_oss_filesystem_is_registered_for_object_storage_path():
    """``filesystems`` names a module with ``schemes`` and ``get_fs``, as Airflow's io layer loads it;
    importing it pulls in no SDK (ossfs is imported when a filesystem is made)."""
    import importlib

    (module_name,) = airflow_iprod.get_provider_info()["filesystems"]
    module = importlib.import_module(module_name)
    assert module.schemes == ["oss"] and callable(module.get_fs)
    code = f"import sys, {module_name}; print([m for m in ('ossfs', 'oss2') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    try:
        metadata.distribution("airflow-iprod")
    except metadata.PackageNotFoundError:
        return
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert module_name in ProvidersManagerTaskRuntime().filesystem_module_names
