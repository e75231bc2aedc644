"""MNS on a real ``python -m airflow_iprod.local`` process: the callback fault flags reach the ready
file, and a message survives SIGTERM and a new process on the same data dir."""

from __future__ import annotations

from pathlib import Path

from mns.account import Account
from mns.queue import Message, QueueMeta

from tests.engine_process import EngineProcess


def _queue(info: dict, name: str) -> object:
    return Account(f"http://{info['endpoint']}", info["access_key_id"], info["access_key_secret"]).get_queue(
        name
    )


def test_flags_reach_the_ready_file_and_messages_outlive_the_process(tmp_path: Path) -> None:
    engine = EngineProcess.spawn(
        tmp_path, "mns", "--fault-callback-drop-rate", "0.3", "--fault-callback-delay-s", "2"
    )
    try:
        info = engine.wait_ready()
        assert info["faults"] == {"callback_drop_rate": 0.3, "callback_delay_s": 2.0}
        queue = _queue(info, "durable")
        queue.create(QueueMeta())
        sent = queue.send_message(Message("still here"))
    finally:
        assert engine.stop() == 0
    assert "[iprod-faults]" in engine.err.read_text()

    again = EngineProcess.spawn(tmp_path, "mns")
    try:
        info = again.wait_ready()
        got = _queue(info, "durable").receive_message(10)
        assert (got.message_id, got.message_body) == (sent.message_id, b"still here")
    finally:
        assert again.stop() == 0
