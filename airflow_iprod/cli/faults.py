"""``airflow-iprod local start --fault-*``: switch on the engine's fault injection from the command line.

So a DAG author can check, without writing Python, that a DAG retries a throttled or failing Query,
fails cleanly on a failed job and times out on a job that takes too long. Each flag falls back to an
``IPROD_LOCAL_FAULT_*`` environment variable. Values are checked before the engine starts: a bad one
is an error naming the flag (or variable), the value and what is allowed (exit 2).
Importing this module never imports Airflow or the engine.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_iprod import catalog

if TYPE_CHECKING:
    from airflow_iprod.local.config import FaultConfig

ENV_PREFIX = "IPROD_LOCAL_FAULT_"
DEFAULT_QUERY_ERROR_CODE = "ServiceUnavailable"  # FaultConfig's default: the hook retries it
MAX_FAIL_MESSAGE = 1024
# An error code as Alibaba Cloud spells them: words joined by dots (Throttling.User, Forbidden.RAM).
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$")

HELP = """\
Fault injection (all off by default; each flag falls back to IPROD_LOCAL_FAULT_<NAME>, e.g.
IPROD_LOCAL_FAULT_QUERY_ERROR_RATE). When any is on, the banner, the --ready-file JSON ("faults")
and the engine log (stderr, lines starting [iprod-faults]) say which, and injected job failures carry
the code InjectedFault, so an injected failure is never mistaken for a real one."""


class FaultFlagError(ValueError):
    """A --fault-* value (or its environment variable) that cannot be used: exit 2."""


@dataclass(frozen=True)
class _Option:
    dest: str
    metavar: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.removeprefix("fault_").upper()


OPTIONS = (
    _Option("fault_latency_ms", "MS", "add MS milliseconds before every API answer"),
    _Option(
        "fault_query_error_rate",
        "0..1",
        "answer this share of QueryIProductionJob calls with an error (the hook retries transient ones)",
    ),
    _Option(
        "fault_query_error_code",
        "CODE",
        f"the error code of those answers (default {DEFAULT_QUERY_ERROR_CODE}; e.g. Throttling.User, "
        "or Forbidden.RAM for one the hook does not retry)",
    ),
    _Option(
        "fault_query_error_status",
        "400-599",
        "their HTTP status (default from the code: 503 ServiceUnavailable, 500 Internal*, 400 otherwise)",
    ),
    _Option(
        "fault_fail_jobs",
        "NAME[,NAME...]|*",
        "jobs of these FunctionNames (* for all) end in Fail (code InjectedFault) without running",
    ),
    _Option("fault_fail_message", "TEXT", "the message those jobs fail with"),
    _Option(
        "fault_job_hold_s",
        "SECONDS",
        "every job holds its worker this long before its algorithm starts (to test timeouts)",
    ),
    _Option(
        "fault_user_data_hold",
        "on|off",
        'a job whose UserData is JSON with "iprod_fault_hold_s": N stays Queuing N s after its submit '
        "(jobs that end at known times, for scheduling benchmarks; with --fault-fail-jobs they then fail)",
    ),
    _Option("fault_seed", "N", "seed for which Query calls fail (the same seed, the same sequence)"),
    _Option(
        "fault_callback_drop_rate",
        "0..1",
        "never send this share of job completion callbacks (MNS messages), to test polling as a safety net",
    ),
    _Option(
        "fault_callback_delay_s", "SECONDS", "send each job completion callback this long after the job ends"
    ),
)


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fault injection", HELP)
    for option in OPTIONS:
        # default None: the environment is read in faults_from_args, so an error can name its source
        group.add_argument(
            option.flag, dest=option.dest, default=None, metavar=option.metavar, help=option.help
        )


def _raw(args: argparse.Namespace, option: _Option) -> tuple[str | None, str]:
    """The value and where it came from (the flag, or the environment variable)."""
    value = getattr(args, option.dest, None)
    if value is not None:
        return value, option.flag
    value = os.environ.get(option.env)
    if value is None or value.strip() == "":
        return None, option.flag
    return value, option.env


def _bad(source: str, value: str, allowed: str) -> FaultFlagError:
    return FaultFlagError(f"{source}={value!r} is not valid: {allowed}")


def _number(source: str, value: str, low: float, high: float, allowed: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _bad(source, value, allowed) from None
    if not (math.isfinite(number) and low <= number <= high):
        raise _bad(source, value, allowed)
    return number


def _integer(source: str, value: str, allowed: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise _bad(source, value, allowed) from None


def default_status(code: str) -> int:
    """The HTTP status the cloud answers a code with, as far as the engine mimics it."""
    if code == "ServiceUnavailable":
        return 503
    if code.startswith("Internal") or code == "ServiceTimeout":
        return 500
    return 400  # Throttling.* and client errors


def _fail_jobs(source: str, value: str) -> frozenset[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise _bad(source, value, "FunctionNames separated by commas, or * for every job")
    if "*" in names:
        if len(names) > 1:
            raise _bad(source, value, "* alone (it already means every FunctionName), or FunctionNames")
        return frozenset(names)
    known = sorted({spec.name for spec in catalog.all_specs()})
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            close += [k for k in known if k.lower() == name.lower() and k not in close]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise FaultFlagError(
                f"{source}={value!r} is not valid: {name!r} is not a FunctionName{hint}; allowed: * or "
                f"FunctionNames from `airflow-iprod algorithms`: {', '.join(known)}"
            )
    return frozenset(names)


def faults_from_args(args: argparse.Namespace) -> FaultConfig:
    """The engine's FaultConfig from the --fault-* flags and IPROD_LOCAL_FAULT_* variables."""
    from airflow_iprod.local.config import FaultConfig

    raw = {option.dest: _raw(args, option) for option in OPTIONS}
    config = FaultConfig()

    value, source = raw["fault_latency_ms"]
    if value is not None:
        config.latency_ms = _number(source, value, 0, 600_000, "milliseconds from 0 to 600000")

    value, source = raw["fault_query_error_rate"]
    if value is not None:
        config.query_error_rate = _number(source, value, 0, 1, "a share from 0 to 1 (0.5: half the Queries)")
    rate_on = config.query_error_rate > 0

    value, source = raw["fault_query_error_code"]
    if value is not None:
        value = value.strip()
        if not _CODE.match(value):
            raise _bad(source, value, "an error code such as ServiceUnavailable or Throttling.User")
        config.query_error_code = value
    config.query_error_status = default_status(config.query_error_code)
    value, source = raw["fault_query_error_status"]
    if value is not None:
        status = _integer(source, value, "an HTTP error status from 400 to 599")
        if not 400 <= status <= 599:
            raise _bad(source, value, "an HTTP error status from 400 to 599")
        config.query_error_status = status

    value, source = raw["fault_seed"]
    if value is not None:
        config.seed = _integer(source, value, "an integer")

    value, source = raw["fault_fail_jobs"]
    if value is not None:
        config.fail_jobs = _fail_jobs(source, value)
    value, source = raw["fault_fail_message"]
    if value is not None:
        if not value.strip() or len(value) > MAX_FAIL_MESSAGE:
            raise _bad(source, value, f"a message of 1 to {MAX_FAIL_MESSAGE} characters")
        config.fail_message = value

    value, source = raw["fault_job_hold_s"]
    if value is not None:
        config.job_latency_s = _number(source, value, 0, 86_400, "seconds from 0 to 86400")

    value, source = raw["fault_user_data_hold"]
    if value is not None:
        if value.strip().lower() not in ("on", "off", "1", "0", "true", "false"):
            raise _bad(source, value, "on or off")
        config.user_data_hold = value.strip().lower() in ("on", "1", "true")

    value, source = raw["fault_callback_drop_rate"]
    if value is not None:
        config.callback_drop_rate = _number(source, value, 0, 1, "a share from 0 to 1 (0.3: drop 30%)")
    value, source = raw["fault_callback_delay_s"]
    if value is not None:
        config.callback_delay_s = _number(source, value, 0, 86_400, "seconds from 0 to 86400")

    # A setting that only shapes a fault which is off is almost surely a mistake: say so.
    needs = {
        "fault_query_error_code": (rate_on, "--fault-query-error-rate"),
        "fault_query_error_status": (rate_on, "--fault-query-error-rate"),
        "fault_seed": (
            rate_on or config.callback_drop_rate > 0,
            "--fault-query-error-rate or --fault-callback-drop-rate",
        ),
        "fault_fail_message": (bool(config.fail_jobs), "--fault-fail-jobs"),
    }
    for dest, (on, parent) in needs.items():
        value, source = raw[dest]
        if value is not None and not on:
            raise FaultFlagError(f"{source}={value!r} only applies with {parent} (which is off)")
    return config
