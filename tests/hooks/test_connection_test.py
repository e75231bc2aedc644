"""The connection's Test button, as Airflow's API server runs it: the form's values become a transient
``iprod://`` URI in the environment and ``Connection.test_connection()`` builds our hook, which Queries a
JobId that cannot exist on the local engine (over real HTTP, signed) and reads the error."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest


def _test_button(conn_type: str, extra: dict[str, Any], **fields: Any) -> tuple[bool, str]:
    """What ``POST /api/v2/connections/test`` does with the form (minus auth)."""
    from airflow.models.connection import Connection

    conn = Connection(conn_id="iprod_transient", conn_type=conn_type, extra=json.dumps(extra), **fields)
    var = "AIRFLOW_CONN_IPROD_TRANSIENT"
    os.environ[var] = conn.get_uri()
    try:
        return conn.test_connection()
    finally:
        os.environ.pop(var, None)


def _form(engine: Any, **changes: Any) -> dict[str, Any]:
    return {
        "access_key_id": engine.access_key_id,
        "access_key_secret": engine.access_key_secret,
        "region": engine.region,
        "endpoint": engine.endpoint,
        "protocol": "http",
        **changes,
    }


def test_test_button_connects_to_the_engine(local_engine: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ok, message = _test_button("iprod", _form(local_engine))
    assert ok, message
    assert message == f"Connected to {local_engine.endpoint} (ice)"
    assert "shall not contain" not in caplog.text  # the old alibaba_cloud type's URI warning


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"access_key_secret": "not-the-secret"}, "SignatureDoesNotMatch"),
        ({"access_key_id": "LTAI-unknown"}, "InvalidAccessKeyId"),
        ({"protocol": "ftp"}, "protocol"),
    ],
)
def test_test_button_reports_a_bad_connection(
    local_engine: Any, changes: dict[str, Any], expected: str
) -> None:
    ok, message = _test_button("iprod", _form(local_engine, **changes))
    assert not ok
    assert expected in message


def test_test_button_reports_an_unreachable_endpoint(local_engine: Any) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, message = _test_button("iprod", _form(local_engine, endpoint=f"127.0.0.1:{port}"))
    assert not ok and message


def test_existing_alibaba_cloud_connection_still_tests_through_our_hook(
    local_engine: Any, make_conn: Any
) -> None:
    """An ``alibaba_cloud`` connection (its keys as providers-alibaba's form stores them) used with
    IProductionHook: the hook connects and its test passes, as before the new type."""
    from airflow_iprod.hooks.iproduction import IProductionHook

    conn_id = make_conn(local_engine, "iprod_old_type")  # conn_type alibaba_cloud (tests/airflow_env.py)
    ok, message = IProductionHook(conn_id, "mts").test_connection()
    assert ok, message
