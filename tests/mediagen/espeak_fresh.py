"""espeak-ng synthesis in a process that has never spoken, for test material that does not depend on
which tests ran first.

espeak-ng keeps state from one utterance to the next inside a process: the same text comes out a few
samples longer or shorter, with other sample values, depending on what was spoken before, and neither
``espeak_Cancel`` nor terminating and re-initialising the library resets it. So a small server process
(started once, single-threaded, espeak never loaded in it) forks a child per request; the child speaks
one text with the library fresh and sends the samples back. Run as ``python -m`` by ``synthesize``.
``phonemes`` asks the same way for espeak's phoneme names of a text (``espeak-ng -x``), so the
library is never initialised a second time inside a process that synthesises.
"""

from __future__ import annotations

import atexit
import ctypes
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
                op, *rest = args
                value = _espeak.synthesize(*rest) if op == "synthesize" else _phonemes(*rest)
                _send(answers, ("ok", value))
            except BaseException as err:  # sent back and raised in the caller
                _send(answers, ("error", repr(err)))
            os._exit(0)
        os.waitpid(pid, 0)


def _phonemes(text: str, voice: str) -> str:
    """espeak-ng's ascii phoneme names for ``text`` (what ``espeak-ng -x -v voice`` prints); a word
    read in another language shows as ``(en)...(cmn)``. Runs in a forked child only."""
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
    lib.espeak_TextToPhonemes.argtypes = (ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int)
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_Info.restype = ctypes.c_char_p
    # 2 = synchronous output (none is made here); 0x8000 = do not exit the process on a data error
    if lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0x8000) <= 0:
        raise RuntimeError("espeak-ng failed to initialise for phoneme output")
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise ValueError(f"voice: espeak-ng has no voice {voice!r}")
    buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
    pointer = ctypes.c_void_p(ctypes.addressof(buf))
    clauses = []
    while pointer.value:  # one clause a call; 1 = UTF-8 text, 0 = ascii phoneme names
        clauses.append(lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, 0).decode())
    return f"{lib.espeak_Info(None).decode()}\t" + " ".join(clauses)


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

    def request(self, *args: Any) -> Any:
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


def _get_client() -> _Client:
    global _client
    with _client_lock:
        if _client is None or _client.proc.poll() is not None:
            _client = _Client()
        return _client


def synthesize(text: str, voice: str, rate_wpm: int, pitch: int) -> Any:
    """``_espeak.synthesize(text, voice, rate_wpm, pitch)`` as a process that never spoke before would."""
    return _get_client().request("synthesize", text, voice, rate_wpm, pitch)


def phonemes(text: str, voice: str) -> tuple[str, str]:
    """(espeak-ng version, phoneme names of ``text`` in ``voice``), from a fresh process."""
    version, _, names = _get_client().request("phonemes", text, voice).partition("\t")
    return version, names


if __name__ == "__main__":
    _serve()
