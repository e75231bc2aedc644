"""``airflow-iprod submit | query | cancel``: one IProduction job by hand, through IProductionHook.

Everything a user can get wrong is checked with the catalog (the operator's rules, through
``catalog.SubmitRequest``) before any network call. Airflow is imported inside the
command functions only, so ``airflow-iprod algorithms`` and ``--help`` stay quick.

Exit codes: 0 done (with ``--wait``: the job succeeded), 1 the job failed or the service refused a
call, 2 bad usage or input (nothing was sent), 3 ``--wait`` timed out (the job keeps running),
130 interrupted (the job keeps running). stdout holds only the result (a JobId, or the job as
JSON); progress and errors go to stderr. Keys are never printed.

The flags and what they mean to the hook: :mod:`airflow_iprod.cli.job_flags`; reaching the service:
:mod:`airflow_iprod.cli.connection`; exit codes and the masking printer: :mod:`airflow_iprod.cli.console`.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from airflow_iprod import catalog
from airflow_iprod.cli.algorithms import API_LABELS
from airflow_iprod.cli.connection import connect
from airflow_iprod.cli.console import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Printer,
    UsageError,
)
from airflow_iprod.cli.job_flags import check_wait_flags, submit_fields, validation_message

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.job_state import JobState


# ------------------------------------------------------------------ output


def job_json(state: JobState) -> dict[str, Any]:
    """The operator's result dict plus what someone debugging a job wants to see."""
    data = state.summary()
    data.update(
        RawStatus=state.raw_status,
        Name=state.name,
        Input=state.input,
        OutputTemplate=state.output,
        UserData=state.user_data,
    )
    if state.is_failed:
        data.update(ErrorCode=state.error_code, ErrorMessage=state.error_message)
    return data


def report(hook: IProductionHook, state: JobState, printer: Printer, submitted_at: float | None) -> int:
    """Print the job as JSON; the exit code says how it ended (for a finished job)."""
    if state.is_success:
        state = hook.resolve_outputs(state, submitted_at=submitted_at)  # MPS lists no files itself
    printer.out(json.dumps(job_json(state), indent=2, ensure_ascii=False))
    if state.is_failed:
        reason = f"[{state.error_code}] " if state.error_code else ""
        reason += state.error_message or "the service gave no reason"
        printer.err(f"error: {state.function_name} job {state.job_id} failed: {reason}")
        return EXIT_FAILED
    return EXIT_OK


# ------------------------------------------------------------------ waiting


def poll(
    hook: IProductionHook, job_id: str, timeout: float | None, interval: float, printer: Printer
) -> tuple[JobState | None, bool]:
    """The hook's wait, telling stderr each new status and any transient error."""
    shown = [""]

    def status(state: JobState) -> None:
        if state.raw_status != shown[0]:
            shown[0] = state.raw_status
            printer.err(f"job {job_id}: {state.raw_status}")

    return hook.wait(
        job_id,
        timeout=timeout,
        interval=interval,
        on_status=status,
        on_transient=lambda err: printer.err(f"job {job_id}: {err}; polling on"),
    )


def wait_and_report(
    hook: IProductionHook,
    job_id: str,
    args: argparse.Namespace,
    printer: Printer,
    submitted_at: float | None = None,
) -> int:
    try:
        state, finished = poll(hook, job_id, args.timeout, args.poll, printer)
    except KeyboardInterrupt:
        return _stop_waiting(hook, job_id, args, printer, "interrupted", EXIT_INTERRUPTED)
    if not finished:
        status = state.raw_status if state else "not answering"
        why = f"still {status} after {args.timeout:g} s (--timeout)"
        return _stop_waiting(hook, job_id, args, printer, why, EXIT_TIMEOUT)
    assert state is not None
    return report(hook, state, printer, submitted_at)


def _stop_waiting(
    hook: IProductionHook, job_id: str, args: argparse.Namespace, printer: Printer, why: str, code: int
) -> int:
    if args.cancel_on_exit:
        hook.cancel(job_id)
        printer.err(f"job {job_id}: {why}; cancelled it (--cancel-on-exit)")
    else:
        api_flag = "" if args.api == catalog.ICE else " --api mps"
        again = f"`airflow-iprod query {job_id}{api_flag} --wait` waits again"
        stop = (
            f", `airflow-iprod cancel {job_id}` stops it"
            if args.api == catalog.ICE
            else " (MPS jobs cannot be cancelled)"
        )
        printer.err(f"job {job_id}: {why}; it keeps running. {again}{stop}")
    return code


# ------------------------------------------------------------------ commands


def _not_found_hint(err: Exception, api: str) -> str:
    code = getattr(err, "code", None) or ""
    if "NotFound" in code or "NotExist" in code:
        other = "mps" if api == catalog.ICE else "ice"
        return f" (a job of the other API? try --api {other})"
    return ""


def _guarded(command: Any, args: argparse.Namespace) -> int:
    """Run one command, turning our error types into messages and exit codes."""
    from airflow_iprod.errors import IProductionError

    printer = Printer()
    try:
        return command(args, printer)
    except UsageError as err:
        printer.err(f"error: {err}")
        return EXIT_USAGE
    except catalog.ValidationError as err:
        printer.err(f"error: {validation_message(err)}")
        return EXIT_USAGE
    except IProductionError as err:
        printer.err(f"error: {err}{_not_found_hint(err, args.api)}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        printer.err("interrupted")
        return EXIT_INTERRUPTED


def _submit(args: argparse.Namespace, printer: Printer) -> int:
    check_wait_flags(args)
    # The operator's rules, no connection and no network: a bad field stops here.
    request = catalog.SubmitRequest(api=args.api, function_name=args.function, **submit_fields(args))
    hook = connect(args, printer)
    submitted_at = time.time()
    job_id = hook.submit(request)
    printer.err(f"submitted {args.function} job {job_id} ({API_LABELS[args.api]})")
    if not args.wait:
        printer.out(job_id)
        return EXIT_OK
    return wait_and_report(hook, job_id, args, printer, submitted_at)


def _query(args: argparse.Namespace, printer: Printer) -> int:
    check_wait_flags(args)
    hook = connect(args, printer)
    if args.wait:
        return wait_and_report(hook, args.job_id, args, printer)
    state = hook.query(args.job_id)
    if state.is_success:
        state = hook.resolve_outputs(state)
    printer.out(json.dumps(job_json(state), indent=2, ensure_ascii=False))
    return EXIT_OK


def _cancel(args: argparse.Namespace, printer: Printer) -> int:
    if args.api != catalog.ICE:
        raise UsageError(
            f"--api={API_LABELS[args.api].lower()}: the MPS API has no CancelIProductionJob, so job "
            f"{args.job_id} cannot be cancelled: an MPS job runs until it ends (only --api ice jobs can)"
        )
    hook = connect(args, printer)
    before = hook.query(args.job_id)
    hook.cancel(args.job_id)
    state = hook.query(args.job_id)
    if before.is_terminal:
        printer.err(f"job {args.job_id} had already ended ({before.raw_status}): nothing to cancel")
    else:
        printer.err(f"job {args.job_id} was {before.raw_status}; now {state.raw_status} ({state.error_code})")
    printer.out(json.dumps(job_json(state), indent=2, ensure_ascii=False))
    return EXIT_OK


def run_submit(args: argparse.Namespace) -> int:
    return _guarded(_submit, args)


def run_query(args: argparse.Namespace) -> int:
    return _guarded(_query, args)


def run_cancel(args: argparse.Namespace) -> int:
    return _guarded(_cancel, args)
