"""espeak-ng synthesis in a process that has never spoken, for test material that does not depend on
which tests ran first.

espeak-ng keeps state from one utterance to the next inside a process: the same text comes out a few
samples longer or shorter, with other sample values, depending on what was spoken before, and neither
``espeak_Cancel`` nor terminating and re-initialising the library resets it. So a small server process
(started once, single-threaded, espeak never loaded in it) forks a child per request; the child speaks
one text with the library fresh and sends the samples back. Run as ``python -m`` by ``synthesize``.
"""

from __future__ import annotations

import atexit
import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, BinaryIO

_HEADER = struct.Struct("!I")


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the espeak server closed its pipe")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _serve() -> None:
    """Server loop: one request on stdin -> fork -> the child answers on stdout and exits."""
    import numpy  # noqa: F401  (imported once here, inherited by every child)

    from airflow_iprod.local.algorithms import _espeak

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            args = _receive(requests)
        except EOFError:
            return
        pid = os.fork()
        if pid == 0:  # the child: espeak loads and speaks for the first time in this process
            try:
                _send(answers, ("ok", _espeak.synthesize(*args)))
            except BaseException as err:  # sent back and raised in the caller
                _send(answers, ("error", repr(err)))
            os._exit(0)
        os.waitpid(pid, 0)


class _Client:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        self.lock = threading.Lock()
        atexit.register(self.close)

    def synthesize(self, *args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            _send(self.proc.stdin, args)
            status, value = _receive(self.proc.stdout)
        if status != "ok":
            raise RuntimeError(f"espeak-ng failed in the fresh process: {value}")
        return value

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


_client: _Client | None = None
_client_lock = threading.Lock()


def synthesize(text: str, voice: str, rate_wpm: int, pitch: int) -> Any:
    """``_espeak.synthesize(text, voice, rate_wpm, pitch)`` as a process that never spoke before would."""
    global _client
    with _client_lock:
        if _client is None or _client.proc.poll() is not None:
            _client = _Client()
        client = _client
    return client.synthesize(text, voice, rate_wpm, pitch)


if __name__ == "__main__":
    _serve()
