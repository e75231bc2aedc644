"""The callback faults: ``--fault-callback-drop-rate`` / ``--fault-callback-delay-s`` (and their
``IPROD_LOCAL_FAULT_*`` variables) into the engine's FaultConfig, checked like the other fault flags, and
a seeded drop share that repeats and is logged as injected. The engine side is in test_job_callbacks."""

from __future__ import annotations

import argparse

import pytest

from airflow_iprod.cli.faults import FaultFlagError, add_fault_arguments, faults_from_args
from airflow_iprod.local.config import FaultConfig
from airflow_iprod.local.faults import Faults, active_faults, describe_faults


def parse(*argv: str) -> FaultConfig:
    parser = argparse.ArgumentParser()
    add_fault_arguments(parser)
    return faults_from_args(parser.parse_args(list(argv)))


def test_flags_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse("--fault-callback-drop-rate", "0.3", "--fault-callback-delay-s", "5", "--fault-seed", "7")
    assert (config.callback_drop_rate, config.callback_delay_s, config.seed) == (0.3, 5.0, 7)
    assert active_faults(config) == {"callback_drop_rate": 0.3, "callback_delay_s": 5.0}
    assert describe_faults(config) == [
        "30% of job completion callbacks (MNS messages) dropped",
        "job completion callbacks are sent 5 s after the job ends",
    ]
    monkeypatch.setenv("IPROD_LOCAL_FAULT_CALLBACK_DROP_RATE", "1")
    assert parse().callback_drop_rate == 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--fault-callback-drop-rate", "1.5"],
            "--fault-callback-drop-rate='1.5' is not valid: a share from 0 to 1",
        ),
        (
            ["--fault-callback-delay-s", "-1"],
            "--fault-callback-delay-s='-1' is not valid: seconds from 0 to 86400",
        ),
        (["--fault-seed", "3"], "only applies with --fault-query-error-rate or --fault-callback-drop-rate"),
    ],
)
def test_bad_values_name_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(FaultFlagError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(*argv)


def test_a_seeded_drop_share_repeats_and_is_logged() -> None:
    def run() -> tuple[list[bool], list[str]]:
        lines: list[str] = []
        faults = Faults(FaultConfig(callback_drop_rate=0.3, seed=11), log=lines.append)
        return [faults.drop_callback(f"job{i}", "q") for i in range(200)], lines

    first, lines = run()
    assert first == run()[0]
    assert 30 <= sum(first) <= 90  # a share near 30% of 200
    assert sum("dropped on purpose" in line for line in lines) == sum(first)
    assert Faults(FaultConfig()).drop_callback("job", "q") is False
