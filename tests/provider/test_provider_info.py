"""Provider registration: schema-valid provider info that Airflow's ProvidersManager loads."""

from __future__ import annotations

import json
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
    for path in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
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
    ours = [w for w in manager.connection_form_widgets.values() if w.package_name == "airflow-iprod"]
    assert {w.field_name for w in ours} >= {"access_key_id", "security_token", "region", "endpoint"}
