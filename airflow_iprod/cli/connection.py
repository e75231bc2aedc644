"""How a job command reaches the service: an Airflow connection (``--conn-id``) or a local engine's
ready file (``--local-ready-file``), loaded through IProductionHook before any call is made.

The hook (and so Airflow) is imported inside the functions only, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_iprod import catalog
from airflow_iprod.cli.console import Printer, Stderr, UsageError

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook

DEFAULT_CONN_ID = "alibabacloud_default"  # IProductionHook.default_conn_name (a test keeps them equal)

CONNECTION_HELP = """\
Connection: --conn-id names an Airflow connection of type iprod (or alibaba_cloud; extras access_key_id,
access_key_secret, region, endpoint, protocol), read the way Airflow reads it outside a task: from
AIRFLOW_CONN_<ID> environment variables and configured secrets backends (not the metadata database).
--local-ready-file reads the file `airflow-iprod local start --ready-file PATH` writes instead."""


def hook_class() -> type[IProductionHook]:
    """Import the hook (and so Airflow), then send Airflow's logs to stderr: its default handler
    writes to stdout, which here carries only the JobId or the job's JSON."""
    from airflow_iprod.hooks.iproduction import IProductionHook

    try:
        from airflow.sdk.log import configure_logging
    except ImportError:  # pragma: no cover - an Airflow without the Task SDK's logging module
        return IProductionHook
    configure_logging(output=Stderr())  # cached: configures once per process
    return IProductionHook


def ready_file_extras(path: Path) -> dict[str, Any]:
    """The connection extras in a ``local start --ready-file`` file (endpoint, keys, region, protocol)."""
    flag = f"--local-ready-file={path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{flag}: no such file (`airflow-iprod local start --ready-file {path}` writes it "
            "once the engine listens)"
        ) from None
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{flag}: not readable as JSON: {err}") from None
    conn = data.get("connection") if isinstance(data, dict) else None
    extra = conn.get("extra") if isinstance(conn, dict) else None
    if not isinstance(extra, dict) or not extra.get("endpoint"):
        raise UsageError(
            f"{flag}: holds no connection.extra with an endpoint (not a local engine ready file)"
        )
    return dict(extra)


def connect(args: argparse.Namespace, printer: Printer) -> IProductionHook:
    """A hook with its connection loaded (so a missing one is a usage error, before any call)."""
    conn_id = args.conn_id or DEFAULT_CONN_ID
    hook = hook_class()(conn_id, api=args.api)
    if args.local_ready_file is not None:
        hook.extras = ready_file_extras(args.local_ready_file)
    try:
        settings = hook.settings()
    except catalog.ValidationError as err:
        raise UsageError(f"connection {conn_id}: {err}") from None
    except Exception as err:
        if type(err).__name__ != "AirflowNotFoundException":
            raise
        raise UsageError(
            f"--conn-id={conn_id}: {err}. Outside a task Airflow reads connections from environment "
            "variables and configured secrets backends, not the metadata database: export "
            f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "iprod", "extra": {{...}}}}\', '
            "or pass --local-ready-file for the local engine"
        ) from None
    printer.hide(settings.access_key_secret, settings.security_token, settings.access_key_id)
    return hook
