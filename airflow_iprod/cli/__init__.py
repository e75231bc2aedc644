"""The ``airflow-iprod`` command.

``airflow-iprod algorithms [NAME]`` lists the catalog (see :mod:`airflow_iprod.cli.algorithms`);
``airflow-iprod submit | query | cancel`` run one job by hand through IProductionHook (see
:mod:`airflow_iprod.cli.jobs`).

``airflow-iprod local start [--port] [--data-dir] [--workers] [--access-key-id] [--access-key-secret]
[--ready-file PATH]`` runs the local engine in the foreground and prints how to reach it (and, with
``--ready-file``, writes the same as JSON once it is listening, for scripts). Flags fall back to the
environment (``IPROD_LOCAL_PORT``, ``IPROD_LOCAL_DATA_DIR``, ``IPROD_LOCAL_WORKERS``,
``IPROD_LOCAL_ACCESS_KEY_ID``, ``IPROD_LOCAL_ACCESS_KEY_SECRET``, ``IPROD_LOCAL_HOST``,
``IPROD_LOCAL_REGION``); without a key pair the engine generates one on first start and keeps it in
the data dir (see :mod:`airflow_iprod.cli.local`). ``--fault-*`` flags (``IPROD_LOCAL_FAULT_*``)
switch on fault injection, to test a DAG's failure paths (see :mod:`airflow_iprod.cli.faults`).
Importing this package never imports Airflow.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NamedTuple

from airflow_iprod.cli import algorithms, job_flags, jobs, local
from airflow_iprod.cli.connection import CONNECTION_HELP

_JOB_EPILOG = f"{job_flags.WAIT_HELP}\n\n{CONNECTION_HELP}"


class _Command(NamedTuple):
    help: str
    description: str | None
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    epilog: str | None = None


# One row per top-level command, so its parser and its dispatch come from the same place.
COMMANDS = {
    "algorithms": _Command(
        "list the algorithms, or one algorithm's JobParams and Result (offline)",
        algorithms.__doc__,
        algorithms.add_arguments,
        algorithms.run,
    ),
    "submit": _Command(
        "validate and submit one job; print its JobId (or, with --wait, the finished job)",
        "Validate a job with the catalog (nothing is sent when a field is wrong: exit 2), "
        "submit it, print its JobId.",
        job_flags.add_submit_arguments,
        jobs.run_submit,
        _JOB_EPILOG,
    ),
    "query": _Command(
        "print one job as JSON (status, result, outputs, times)",
        "Print one job, normalised for both APIs, as JSON (exit 0 whatever its status, unless --wait).",
        job_flags.add_query_arguments,
        jobs.run_query,
        _JOB_EPILOG,
    ),
    "cancel": _Command(
        "cancel a queued or running ICE job (MPS has no Cancel API)",
        "Cancel a queued or running ICE job and print it as JSON. MPS has no Cancel API.",
        job_flags.add_cancel_arguments,
        jobs.run_cancel,
        CONNECTION_HELP,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-iprod", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    for name, command in COMMANDS.items():
        command.add_arguments(
            sub.add_parser(
                name,
                help=command.help,
                description=command.description,
                epilog=command.epilog,
                formatter_class=raw,
            )
        )
    local_parser = sub.add_parser("local", help="the offline local engine")
    local_sub = local_parser.add_subparsers(dest="local_command", required=True)
    start = local_sub.add_parser(
        "start",
        help="run the local engine in the foreground",
        description="Run the local engine in the foreground; print how to reach it.",
        formatter_class=raw,
    )
    local.add_start_arguments(start)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "local" and args.local_command == "start":
        return local.start_engine(args)
    return COMMANDS[args.command].run(args)
