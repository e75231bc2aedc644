"""``airflow-iprod local start``: run the local engine in the foreground and print how to reach it.

With ``--ready-file`` it also writes the same as JSON once it is listening, for scripts. Flags fall
back to ``IPROD_LOCAL_*`` environment variables; ``--fault-*`` flags come from
:mod:`airflow_iprod.cli.faults`. The engine is imported inside :func:`start_engine` only, so
``--help`` never loads it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from airflow_iprod.cli.faults import FaultFlagError, add_fault_arguments, faults_from_args

DEFAULT_PORT = 8765
DEFAULT_DATA_DIR = ".iprod-local"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"IPROD_LOCAL_{name}", default)


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
    add_fault_arguments(start)


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
        faults = faults_from_args(args)
    except FaultFlagError as err:
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
