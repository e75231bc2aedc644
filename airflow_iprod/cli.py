"""The ``airflow-iprod`` command.

``airflow-iprod algorithms [NAME]`` lists the catalog (see :mod:`airflow_iprod.cli_algorithms`);
``airflow-iprod submit | query | cancel`` run one job by hand through IProductionHook (see
:mod:`airflow_iprod.cli_jobs`).

``airflow-iprod local start [--port] [--data-dir] [--workers] [--access-key-id] [--access-key-secret]
[--ready-file PATH]`` runs the local engine in the foreground and prints how to reach it (and, with
``--ready-file``, writes the same as JSON once it is listening, for scripts). Flags fall back to the
environment (``IPROD_LOCAL_PORT``, ``IPROD_LOCAL_DATA_DIR``, ``IPROD_LOCAL_WORKERS``,
``IPROD_LOCAL_ACCESS_KEY_ID``, ``IPROD_LOCAL_ACCESS_KEY_SECRET``, ``IPROD_LOCAL_HOST``,
``IPROD_LOCAL_REGION``); without a key pair the engine generates one on first start and keeps it in
the data dir. ``--fault-*`` flags (``IPROD_LOCAL_FAULT_*``) switch on fault injection, to test a DAG's
failure paths (see :mod:`airflow_iprod.cli_faults`). Importing this module never imports Airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_iprod import cli_algorithms, cli_faults, cli_jobs

DEFAULT_PORT = 8765
DEFAULT_DATA_DIR = ".iprod-local"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"IPROD_LOCAL_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-iprod", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    algorithms = sub.add_parser(
        "algorithms",
        help="list the algorithms, or one algorithm's JobParams and Result (offline)",
        description=cli_algorithms.__doc__,
        formatter_class=raw,
    )
    cli_algorithms.add_arguments(algorithms)
    epilog = f"{cli_jobs.WAIT_HELP}\n\n{cli_jobs.CONNECTION_HELP}"
    submit = sub.add_parser(
        "submit",
        help="validate and submit one job; print its JobId (or, with --wait, the finished job)",
        description="Validate a job with the catalog (nothing is sent when a field is wrong: exit 2), "
        "submit it, print its JobId.",
        epilog=epilog,
        formatter_class=raw,
    )
    cli_jobs.add_submit_arguments(submit)
    query = sub.add_parser(
        "query",
        help="print one job as JSON (status, result, outputs, times)",
        description="Print one job, normalised for both APIs, as JSON (exit 0 whatever its status, "
        "unless --wait).",
        epilog=epilog,
        formatter_class=raw,
    )
    cli_jobs.add_query_arguments(query)
    cancel = sub.add_parser(
        "cancel",
        help="cancel a queued or running ICE job (MPS has no Cancel API)",
        description="Cancel a queued or running ICE job and print it as JSON. MPS has no Cancel API.",
        epilog=cli_jobs.CONNECTION_HELP,
        formatter_class=raw,
    )
    cli_jobs.add_cancel_arguments(cancel)
    local = sub.add_parser("local", help="the offline local engine")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    start = local_sub.add_parser(
        "start",
        help="run the local engine in the foreground",
        description="Run the local engine in the foreground; print how to reach it.",
        formatter_class=raw,
    )
    add_start_arguments(start)
    return parser


def add_start_arguments(start: argparse.ArgumentParser) -> None:
    start.add_argument(
        "--host", default=_env("HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1)"
    )
    start.add_argument(
        "--port",
        type=int,
        default=int(_env("PORT", str(DEFAULT_PORT)) or DEFAULT_PORT),
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    start.add_argument(
        "--data-dir",
        type=Path,
        default=Path(_env("DATA_DIR", DEFAULT_DATA_DIR) or "."),
        help=f"jobs, objects and keys live here (default ./{DEFAULT_DATA_DIR})",
    )
    start.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "0") or 0),
        help="worker processes (default: CPU cores)",
    )
    start.add_argument("--access-key-id", default=_env("ACCESS_KEY_ID"))
    start.add_argument("--access-key-secret", default=_env("ACCESS_KEY_SECRET"))
    start.add_argument("--region", default=_env("REGION", "cn-shanghai"))
    start.add_argument(
        "--bucket",
        action="append",
        default=None,
        help="bucket to create at start (repeatable; default: media)",
    )
    start.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="once listening, write endpoint, keys, the Airflow connection and the active faults here "
        "as JSON (mode 600)",
    )
    cli_faults.add_fault_arguments(start)


def connection_info(endpoint: str, key_id: str, secret: str, region: str) -> dict[str, object]:
    """How to point an Airflow connection at the engine (conn type ``alibaba_cloud``)."""
    extra = {
        "access_key_id": key_id,
        "access_key_secret": secret,
        "endpoint": endpoint,
        "protocol": "http",
        "region": region,
    }
    return {
        "conn_type": "alibaba_cloud",
        "extra": extra,
        "env": "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT='"
        + json.dumps({"conn_type": "alibaba_cloud", "extra": extra})
        + "'",
    }


def write_ready_file(
    path: Path,
    endpoint: str,
    cred: Any,
    region: str,
    info: dict[str, Any],
    faults: dict[str, Any] | None = None,
) -> None:
    """The engine's address and keys as JSON, written atomically (a reader never sees half a file)
    and private to the user (it holds the secret). ``faults``: the active fault injection ({} if off)."""
    data = {
        "endpoint": endpoint,
        "access_key_id": cred.access_key_id,
        "access_key_secret": cred.access_key_secret,
        "region": region,
        "connection": {"conn_type": info["conn_type"], "extra": info["extra"]},
        "faults": faults or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def start_engine(args: argparse.Namespace) -> int:
    from airflow_iprod.local.config import Credential, EngineConfig
    from airflow_iprod.local.engine import LocalEngine
    from airflow_iprod.local.faults import active_faults, describe_faults

    if bool(args.access_key_id) != bool(args.access_key_secret):
        print("error: give both --access-key-id and --access-key-secret, or neither", file=sys.stderr)
        return 2
    try:
        faults = cli_faults.faults_from_args(args)
    except cli_faults.FaultFlagError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config = EngineConfig(
        data_dir=args.data_dir.resolve(), host=args.host, port=args.port, region=args.region, faults=faults
    )
    if args.workers > 0:
        config.workers = args.workers
    if args.access_key_id:
        config.add_credential(Credential(args.access_key_id, args.access_key_secret))
    engine = LocalEngine(config).start()
    for bucket in args.bucket or ["media"]:
        engine.objects.create_bucket(bucket, config.region)
    cred = next(iter(config.credentials.values()))
    info = connection_info(engine.endpoint, cred.access_key_id, cred.access_key_secret, config.region)
    print(f"IProduction local engine listening on http://{engine.endpoint}", flush=True)
    print(f"  data dir:          {config.data_dir}")
    print(f"  workers:           {config.workers}")
    print(f"  access key id:     {cred.access_key_id}")
    print(f"  access key secret: {cred.access_key_secret}")
    print(f"  region:            {config.region}")
    print(f"  buckets:           {', '.join(args.bucket or ['media'])}")
    if engine.requeued:
        print(f"  requeued {len(engine.requeued)} job(s) interrupted by the last shutdown")
    print("Airflow connection (conn type alibaba_cloud):")
    print(f"  extra: {json.dumps(info['extra'])}")
    print(f"  export {info['env']}")
    if args.ready_file:
        write_ready_file(
            args.ready_file, engine.endpoint, cred, config.region, info, faults=active_faults(faults)
        )
    fault_lines = describe_faults(faults)  # last, so it is what stays on screen
    if fault_lines:
        print("FAULT INJECTION ON (these failures are injected, not real):")
        for line in fault_lines:
            print(f"  - {line}")
    print("Ctrl-C stops the engine.", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    engine.stop()
    print("stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "local" and args.local_command == "start":
        return start_engine(args)
    commands = {
        "algorithms": cli_algorithms.run,
        "submit": cli_jobs.run_submit,
        "query": cli_jobs.run_query,
        "cancel": cli_jobs.run_cancel,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
