"""``airflow-iprod submit | query | cancel``: one IProduction job by hand, through IProductionHook.

Everything a user can get wrong is checked with the catalog (the operator's rules, through
``IProductionHook.build_submit_request``) before any network call. Airflow is imported inside the
command functions only, so ``airflow-iprod algorithms`` and ``--help`` stay quick.

Exit codes: 0 done (with ``--wait``: the job succeeded), 1 the job failed or the service refused a
call, 2 bad usage or input (nothing was sent), 3 ``--wait`` timed out (the job keeps running),
130 interrupted (the job keeps running). stdout holds only the result (a JobId, or the job as
JSON); progress and errors go to stderr. Keys are never printed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_iprod import catalog
from airflow_iprod.cli_algorithms import API_LABELS, api_arg

if TYPE_CHECKING:
    from airflow_iprod.hooks.iproduction import IProductionHook
    from airflow_iprod.job import JobState

DEFAULT_CONN_ID = "alibabacloud_default"  # IProductionHook.default_conn_name (a test keeps them equal)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Request fields as the catalog names them in errors -> the flag a CLI user typed.
_FLAGS = {
    "FunctionName": "FUNCTION",
    "Input": "--input",
    "Input.Media": "--input",
    "Input.Type": "--input-type",
    "Output": "--output",
    "Output.Media": "--output",
    "Output.Type": "--output-type",
    "Output.OutputUrl": "--output-url",
    "JobParams": "--params",
    "ModelId": "--model-id",
    "Name": "--name",
    "UserData": "--user-data",
    "PipelineId": "--pipeline-id",
    "ScheduleConfig.PipelineId": "--pipeline-id",
    "ScheduleConfig.Priority": "--priority",
    "TemplateId": "--template-id",
    "Output.Biz": "--biz",
    "NotifyUrl": "--notify-url",
    "ScheduleParams": "--schedule-params",
    "ScheduleParams.Priority": "--schedule-params",
}

WAIT_HELP = """\
stdout carries only the result (submit: the JobId, or with --wait the job as JSON; query, cancel: the
job as JSON); progress and errors go to stderr. Exit codes: 0 done, 1 the job failed or the service
refused, 2 bad input (nothing was sent), 3 --timeout passed, 130 Ctrl-C.

--wait polls until the job ends and prints it as JSON: exit 0 on Success, 1 on Fail (the service's
message on stderr), 3 when --timeout passes first. On a timeout or Ctrl-C the job is NOT cancelled: it
keeps running (and costs) until it ends; `airflow-iprod query JOB_ID --wait` picks it up again. Give
--cancel-on-exit to cancel it instead (ICE only: MPS has no Cancel API)."""

CONNECTION_HELP = """\
Connection: --conn-id names an Airflow connection of type alibaba_cloud (extras access_key_id,
access_key_secret, region, endpoint, protocol), read the way Airflow reads it outside a task: from
AIRFLOW_CONN_<ID> environment variables and configured secrets backends (not the metadata database).
--local-ready-file reads the file `airflow-iprod local start --ready-file PATH` writes instead."""


class UsageError(Exception):
    """Bad input found before anything was sent: exit 2."""


class Printer:
    """stdout for results, stderr for the rest; every known secret is masked on the way out."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def hide(self, *values: str | None) -> None:
        # As Airflow's masker: shorter values would mangle ordinary text (real keys are 16+ chars).
        self.secrets += [v for v in values if v and len(v) >= 5]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def out(self, text: str) -> None:
        print(self._clean(text), flush=True)

    def err(self, text: str) -> None:
        print(self._clean(text), file=sys.stderr, flush=True)


class _Stderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is at the moment of writing (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _hook_class() -> type[IProductionHook]:
    """Import the hook (and so Airflow), then send Airflow's logs to stderr: its default handler
    writes to stdout, which here carries only the JobId or the job's JSON."""
    from airflow_iprod.hooks.iproduction import IProductionHook

    try:
        from airflow.sdk.log import configure_logging
    except ImportError:  # pragma: no cover - an Airflow without the Task SDK's logging module
        return IProductionHook
    configure_logging(output=_Stderr())  # cached: configures once per process
    return IProductionHook


# ------------------------------------------------------------------ arguments


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
    parser.add_argument("--input", default=None, metavar="URL", help="oss://bucket/key (or a media ID)")
    parser.add_argument(
        "--output", default=None, metavar="URL", help="oss://bucket/key, placeholders allowed"
    )
    parser.add_argument(
        "--params", default=None, metavar="JSON|@FILE", help="JobParams as JSON text, or @file.json"
    )
    parser.add_argument("--model-id", default=None, metavar="ID", help="ModelId, where the algorithm has one")
    parser.add_argument("--pipeline-id", default=None, metavar="ID")
    parser.add_argument("--priority", default=None, metavar="1-10", help="ICE: 1 runs first")
    parser.add_argument("--user-data", default=None, metavar="TEXT", help="at most 256 characters")
    parser.add_argument("--name", default=None, help="ICE: job name")
    parser.add_argument("--input-type", default="OSS", metavar="OSS|Media", help="ICE: Media for a media ID")
    parser.add_argument(
        "--output-type", default="OSS", metavar="OSS|Media", help="ICE: Media for a media asset"
    )
    parser.add_argument(
        "--output-url", default=None, metavar="URL", help="ICE: OutputUrl with --output-type Media"
    )
    parser.add_argument("--template-id", default=None, metavar="ID", help="ICE: TemplateId")
    parser.add_argument(
        "--biz", default=None, metavar="IMS|VOD", help="ICE: Output.Biz, the service that owns a media asset"
    )
    parser.add_argument(
        "--notify-url",
        default=None,
        metavar="mns://ENDPOINT/queues/NAME",
        help="MPS: MNS queue told when the job ends",
    )
    parser.add_argument(
        "--schedule-params",
        default=None,
        metavar="JSON|@FILE",
        help="MPS: ScheduleParams as a JSON object, or @file.json (the service suggests leaving it out)",
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


def _check_wait_flags(args: argparse.Namespace) -> None:
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


def submit_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The hook's submit keywords from the flags (None where not given)."""
    return {
        "input": args.input,
        "output": args.output,
        "input_type": args.input_type,
        "output_type": args.output_type,
        "output_url": args.output_url,
        "job_params": _read_json_arg("--params", args.params),
        "model_id": args.model_id,
        "pipeline_id": args.pipeline_id,
        "priority": args.priority,
        "user_data": args.user_data,
        "name": args.name,
        "template_id": args.template_id,
        "output_biz": args.biz,
        "notify_url": args.notify_url,
        "schedule_params": _read_json_arg("--schedule-params", args.schedule_params),
    }


def _flag_for(field: str) -> str:
    if field.startswith("JobParams"):
        return "--params"
    return _FLAGS.get(field) or _FLAGS.get(field.split("[", 1)[0], "")


def validation_message(err: catalog.ValidationError) -> str:
    flag = _flag_for(err.field)
    return f"{flag}: {err}" if flag else str(err)


# ------------------------------------------------------------------ connection


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
    hook = _hook_class()(conn_id, api=args.api)
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
            f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "alibaba_cloud", "extra": {{...}}}}\', '
            "or pass --local-ready-file for the local engine"
        ) from None
    printer.hide(settings.access_key_secret, settings.security_token, settings.access_key_id)
    return hook


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
    _check_wait_flags(args)
    fields = submit_fields(args)
    # The operator's rules, no connection and no network: a bad field stops here.
    _hook_class()(api=args.api).build_submit_request(args.function, **fields)
    hook = connect(args, printer)
    submitted_at = time.time()
    job_id = hook.submit(args.function, **fields)
    printer.err(f"submitted {args.function} job {job_id} ({API_LABELS[args.api]})")
    if not args.wait:
        printer.out(job_id)
        return EXIT_OK
    return wait_and_report(hook, job_id, args, printer, submitted_at)


def _query(args: argparse.Namespace, printer: Printer) -> int:
    _check_wait_flags(args)
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
