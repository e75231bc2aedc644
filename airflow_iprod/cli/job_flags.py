"""The flags of ``airflow-iprod submit | query | cancel``, and what they mean to IProductionHook.

The submit flags are generated from the catalog's submit fields (``catalog.request_fields()``);
``submit_fields`` reads them back as SubmitRequest keywords and ``validation_message`` names the flag
behind a field the catalog rejects. Nothing here imports Airflow.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from airflow_iprod import catalog
from airflow_iprod.cli.algorithms import api_arg
from airflow_iprod.cli.connection import DEFAULT_CONN_ID
from airflow_iprod.cli.console import UsageError

WAIT_HELP = """\
stdout carries only the result (submit: the JobId, or with --wait the job as JSON; query, cancel: the
job as JSON); progress and errors go to stderr. Exit codes: 0 done, 1 the job failed or the service
refused, 2 bad input (nothing was sent), 3 --timeout passed, 130 Ctrl-C.

--wait polls until the job ends and prints it as JSON: exit 0 on Success, 1 on Fail (the service's
message on stderr), 3 when --timeout passes first. On a timeout or Ctrl-C the job is NOT cancelled: it
keeps running (and costs) until it ends; `airflow-iprod query JOB_ID --wait` picks it up again. Give
--cancel-on-exit to cancel it instead (ICE only: MPS has no Cancel API)."""


def _positive(flag: str) -> Any:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0:
            raise argparse.ArgumentTypeError(f"{flag}={value!r} is not valid: a number of seconds > 0")
        return number

    return parse


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api", type=api_arg, default=catalog.ICE, metavar="{ice,mps}", help="API flavour (default ice)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--conn-id", default=None, help=f"Airflow connection id (default {DEFAULT_CONN_ID})")
    where.add_argument(
        "--local-ready-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="connect to the local engine that wrote this ready file (no Airflow connection needed)",
    )


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="poll until the job ends; print it as JSON")
    parser.add_argument(
        "--timeout",
        type=_positive("--timeout"),
        default=None,
        metavar="SECONDS",
        help="with --wait: give up after SECONDS (default: no limit); exit 3",
    )
    parser.add_argument(
        "--poll",
        type=_positive("--poll"),
        default=2.0,
        metavar="SECONDS",
        help="with --wait: seconds between queries (default 2)",
    )
    parser.add_argument(
        "--cancel-on-exit",
        action="store_true",
        help="with --wait: cancel the job on timeout or Ctrl-C (ICE only; default: leave it running)",
    )


def add_submit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", metavar="FUNCTION", help="FunctionName (see `airflow-iprod algorithms`)")
    for field in catalog.request_fields():  # one flag per submit field, from the catalog's definition
        parser.add_argument(
            field.cli_flag,
            dest=field.name,
            default=field.default,
            metavar=field.metavar,
            help=field.help + (", or @file.json" if field.json else ""),
        )
    _add_connection(parser)
    _add_wait(parser)


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job_id", metavar="JOB_ID")
    _add_connection(parser)
    _add_wait(parser)


def add_cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job_id", metavar="JOB_ID")
    _add_connection(parser)


def check_wait_flags(args: argparse.Namespace) -> None:
    if not args.wait:
        for flag, value in (("--timeout", args.timeout), ("--cancel-on-exit", args.cancel_on_exit or None)):
            if value is not None:
                raise UsageError(f"{flag} only applies with --wait")
    if args.cancel_on_exit and args.api == catalog.MTS:
        raise UsageError("--cancel-on-exit with --api=mps: the MPS API has no CancelIProductionJob")


def _read_json_arg(flag: str, value: str | None) -> str | None:
    """JSON text given inline or as ``@file``."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{flag}={value}: cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{flag}={value}: {path} is not UTF-8 text (byte {err.start}): JSON must be UTF-8"
        ) from None


def submit_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The submit keywords from the flags (None where not given); JSON fields may be ``@file``."""
    return {
        f.name: _read_json_arg(f.cli_flag, getattr(args, f.name)) if f.json else getattr(args, f.name)
        for f in catalog.request_fields()
    }


def validation_message(err: catalog.ValidationError) -> str:
    """The error, led by the flag the user typed for the field it names."""
    field = catalog.field_for_label(err.field)
    flag = "FUNCTION" if err.field == "FunctionName" else field.cli_flag if field else ""
    return f"{flag}: {err}" if flag else str(err)
