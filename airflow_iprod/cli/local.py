"""``airflow-iprod local start``: run the local engine in the foreground and print how to reach it.

With ``--ready-file`` it also writes the same as JSON once it is listening, for scripts. The secret is
never printed: it stays in mode-600 files (the data dir's ``credentials.json`` and
``airflow-connection.json``, and the ready file). SIGTERM and SIGINT stop it cleanly (exit 0) at any
moment once it has said "starting". Flags fall
back to ``IPROD_LOCAL_*`` environment variables; ``--fault-*`` flags come from
:mod:`airflow_iprod.cli.faults`. The engine is imported inside :func:`start_engine` only, so
``--help`` never loads it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
        "--pipeline",
        action="append",
        default=None,
        metavar="ID[=CONCURRENCY]",
        help="a PipelineId jobs may name, besides 'default' (repeatable; concurrency default 10, never "
        "above --workers); env IPROD_LOCAL_PIPELINES, comma-separated",
    )
    start.add_argument(
        "--tls",
        action="store_true",
        default=_env("TLS") in ("1", "true", "yes"),
        help="serve HTTPS (the cloud's protocol) with a certificate from the engine's own CA, made on "
        "first start in DATA_DIR/tls; the CA's path goes in the ready file and the connection's "
        "ca_bundle; env IPROD_LOCAL_TLS=1",
    )
    start.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="once listening, write endpoint, keys, the Airflow connection and the active faults here "
        "as JSON (mode 600)",
    )
    add_fault_arguments(start)


def parse_pipelines(specs: list[str]) -> dict[str, int]:
    """``["pipe-a", "bulk=2"]`` -> {"pipe-a": 10, "bulk": 2}: the PipelineIds the engine knows."""
    out: dict[str, int] = {}
    for spec in (s.strip() for s in specs):
        if not spec:
            continue
        name, sep, number = spec.partition("=")
        name = name.strip()
        if not name or len(name) > 128 or not (number.strip().isdigit() if sep else True):
            raise ValueError(
                f"--pipeline={spec!r} is not valid: ID or ID=CONCURRENCY (an ID of 1-128 characters, "
                "a concurrency of 1 or more)"
            )
        concurrency = int(number) if sep else 10
        if concurrency < 1:
            raise ValueError(f"--pipeline={spec!r} is not valid: a concurrency of 1 or more")
        out[name] = concurrency
    return out


def connection_info(
    endpoint: str, key_id: str, secret: str, region: str, ca_file: Path | None = None
) -> dict[str, object]:
    """How to point an Airflow connection at the engine (conn type ``iprod``); over HTTPS
    (``ca_file``: the engine's CA) the connection trusts that CA, and verifies as always."""
    extra = {
        "access_key_id": key_id,
        "access_key_secret": secret,
        "endpoint": endpoint,
        "protocol": "https" if ca_file else "http",
        "region": region,
    }
    if ca_file:
        extra["ca_bundle"] = str(ca_file)
    return {
        "conn_type": "iprod",
        "extra": extra,
        "env": "AIRFLOW_CONN_ALIBABACLOUD_DEFAULT='"
        + json.dumps({"conn_type": "iprod", "extra": extra})
        + "'",
    }


CONNECTION_FILE = "airflow-connection.json"  # in the data dir: the Airflow connection, secret included

# Set by SIGTERM/SIGINT. ``python -m airflow_iprod.local`` installs the handlers before its imports and
# hands its event over here, so a signal that arrives while Python is still loading is not lost.
early_stop: threading.Event | None = None


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT only set ``stop``: the engine then shuts down in order and exits 0."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (a reader never sees half a file), mode 600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)  # an older tmp file may have had another mode
        json.dump(data, fh)
    os.replace(tmp, path)


def write_ready_file(
    path: Path,
    endpoint: str,
    cred: Any,
    region: str,
    info: dict[str, Any],
    faults: dict[str, Any] | None = None,
) -> None:
    """The engine's address and keys as JSON, private to the user (it holds the secret).
    ``faults``: the active fault injection ({} if off)."""
    write_private_json(
        path,
        {
            "endpoint": endpoint,
            "access_key_id": cred.access_key_id,
            "access_key_secret": cred.access_key_secret,
            "region": region,
            "connection": {"conn_type": info["conn_type"], "extra": info["extra"]},
            "protocol": info["extra"]["protocol"],
            "ca_file": info["extra"].get("ca_bundle"),
            "faults": faults or {},
        },
    )


def _secret_origin(args: argparse.Namespace, data_dir: Path) -> str:
    if args.access_key_secret:
        return "the one given (--access-key-secret or IPROD_LOCAL_ACCESS_KEY_SECRET)"
    from airflow_iprod.local.config import CREDENTIALS_FILE

    return f"in {data_dir / CREDENTIALS_FILE} (mode 600)"


def start_engine(args: argparse.Namespace) -> int:
    # First of all: from here on a signal stops the engine cleanly, whatever it is doing.
    stop = early_stop or threading.Event()
    install_stop_handlers(stop)
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
    try:
        pipelines = parse_pipelines(args.pipeline or (_env("PIPELINES") or "").split(","))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    config = EngineConfig(
        data_dir=args.data_dir.resolve(),
        host=args.host,
        port=args.port,
        region=args.region,
        faults=faults,
        pipelines=pipelines,
        tls=args.tls,
    )
    if args.workers > 0:
        config.workers = args.workers
    if args.access_key_id:
        config.add_credential(Credential(args.access_key_id, args.access_key_secret))
    print(f"IProduction local engine starting (pid {os.getpid()})", flush=True)
    engine = LocalEngine(config)
    try:
        if not stop.is_set():
            engine.start()
            for bucket in args.bucket or ["media"]:
                engine.objects.create_bucket(bucket, config.region)
        if not stop.is_set():
            _announce(args, engine, active_faults(faults), describe_faults(faults))
        stop.wait()
    finally:
        engine.stop()  # idempotent; the handlers stay installed until the store is closed
    print("stopped.", flush=True)
    return 0


def _announce(args: argparse.Namespace, engine: Any, faults: dict[str, Any], fault_lines: list[str]) -> None:
    """The banner and the ready file. Never prints the secret: the screen and logs are not private,
    the connection file and the ready file are (mode 600)."""
    config = engine.config
    cred = next(iter(config.credentials.values()))
    info = connection_info(
        engine.endpoint, cred.access_key_id, cred.access_key_secret, config.region, engine.ca_file
    )
    conn_path = config.data_dir / CONNECTION_FILE
    write_private_json(conn_path, {"conn_type": info["conn_type"], "extra": info["extra"]})
    if args.ready_file:
        write_ready_file(args.ready_file, engine.endpoint, cred, config.region, info, faults=faults)
    print(f"IProduction local engine listening on {engine.protocol}://{engine.endpoint}", flush=True)
    if engine.ca_file:
        print(f"  TLS CA to trust:   {engine.ca_file} (the connection's ca_bundle)")
    print(f"  data dir:          {config.data_dir}")
    print(f"  workers:           {config.workers}")
    print(f"  access key id:     {cred.access_key_id}")
    print(f"  access key secret: {_secret_origin(args, config.data_dir)}")
    print(f"  region:            {config.region}")
    print(f"  buckets:           {', '.join(args.bucket or ['media'])}")
    print(f"  console:           {engine.protocol}://{engine.endpoint}/-/console/ (sign in with this key)")
    if engine.requeued:
        print(f"  requeued {len(engine.requeued)} job(s) interrupted by the last shutdown")
    print(f"Airflow connection (conn type iprod), secret included, in {conn_path} (mode 600):")
    print(f'  export AIRFLOW_CONN_ALIBABACLOUD_DEFAULT="$(cat {shlex.quote(str(conn_path))})"')
    if args.ready_file:
        print(f'  also in the ready file {args.ready_file} (mode 600), under "connection"')
    if fault_lines:  # last, so it is what stays on screen
        print("FAULT INJECTION ON (these failures are injected, not real):")
        for line in fault_lines:
            print(f"  - {line}")
    print("Ctrl-C stops the engine.", flush=True)
