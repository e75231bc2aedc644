"""The user-data-hold fault: a job stays Queuing as long as its UserData says, then goes on as usual
(with fail_jobs it ends then, without a worker). Through the official SDK over HTTP."""

from __future__ import annotations

import json
import time

from airflow_iprod.cli.faults import FaultFlagError, add_fault_arguments, faults_from_args
from airflow_iprod.local.config import FaultConfig
from tests.conftest import submit_to, upload_to, wait_for


def test_a_held_job_ends_at_its_known_time(make_engine, noisy_wav):
    engine = make_engine(faults=FaultConfig(user_data_hold=True, fail_jobs=frozenset({"*"})))
    src = upload_to(engine, noisy_wav, "hold/a.wav")
    start = time.time()
    job_id = submit_to(
        engine.ice(), "ice", "SpeechDenoise", src, "oss://media/hold/{source}.wav",
        user_data=json.dumps({"iprod_fault_hold_s": 2.0}),
    )  # fmt: skip
    time.sleep(1.0)
    assert engine.engine.jobs.get(job_id).status == "Queuing"
    body = wait_for(engine.ice(), "ice", job_id, timeout=30)
    job = engine.engine.jobs.get(job_id)
    assert body["Status"] == "Fail" and 2.0 <= job.finish_time - start < 4.0


def test_jobs_without_the_key_are_not_held(make_engine, noisy_wav):
    engine = make_engine(faults=FaultConfig(user_data_hold=True))
    src = upload_to(engine, noisy_wav, "hold/b.wav")
    job_id = submit_to(engine.ice(), "ice", "SpeechDenoise", src, "oss://media/hold/{source}.wav")
    assert wait_for(engine.ice(), "ice", job_id, timeout=60)["Status"] == "Success"


def test_the_flag_takes_on_or_off():
    import argparse

    import pytest

    parser = argparse.ArgumentParser()
    add_fault_arguments(parser)
    assert faults_from_args(parser.parse_args(["--fault-user-data-hold", "on"])).user_data_hold
    with pytest.raises(FaultFlagError, match="--fault-user-data-hold='maybe' is not valid: on or off"):
        faults_from_args(parser.parse_args(["--fault-user-data-hold", "maybe"]))
