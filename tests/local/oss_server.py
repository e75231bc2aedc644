"""Object-API test plumbing: the engine's session server as a ``RunningServer``, or a bare one.

``from_engine(local_engine, *credentials)`` is what the tests use: the real engine server from
tests/conftest.py. ``serve(config)`` runs ``oss_api.handle`` alone on a tiny threaded server following the
contract in ``oss_api``'s docstring (streamed bodies both ways), for handler work without the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO

from airflow_iprod.local import oss_api
from airflow_iprod.local.config import Credential, EngineConfig
from airflow_iprod.local.http import Headers, HttpRequest
from airflow_iprod.local.objects import ObjectStore

CHUNK = 1 << 20


class _LengthReader:
    """Exactly ``length`` bytes of the socket stream, then EOF."""

    def __init__(self, raw: BinaryIO, length: int) -> None:
        self._raw = raw
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._raw.read(want)
        self._left -= len(data)
        if not data:
            self._left = 0
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _ChunkedReader:
    """De-frames ``Transfer-Encoding: chunked``."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._left = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while not self._done and (size is None or size < 0 or len(out) < size):
            if self._left == 0:
                line = self._raw.readline().split(b";", 1)[0].strip()
                self._left = int(line or b"0", 16)
                if self._left == 0:
                    while self._raw.readline().strip():  # trailers
                        pass
                    self._done = True
                    break
            want = self._left if size is None or size < 0 else min(self._left, size - len(out))
            data = self._raw.read(want)
            out += data
            self._left -= len(data)
            if self._left == 0:
                self._raw.readline()  # CRLF after the chunk
        return bytes(out)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _make_handler(config: EngineConfig, store: ObjectStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def _serve(self) -> None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body: _LengthReader | _ChunkedReader = _ChunkedReader(self.rfile)
            else:
                body = _LengthReader(self.rfile, int(self.headers.get("Content-Length") or 0))
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=Headers(self.headers.items()),
                client=self.client_address[0],
                body_stream=body,  # type: ignore[arg-type]
            )
            response = oss_api.handle(request, config, store)
            body.drain()
            self.send_response_only(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if "Content-Length" not in response.headers and response.file_path is None:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if response.file_path is None:
                self.wfile.write(response.body)
                return
            with open(response.file_path, "rb") as fh:
                start, end = response.file_range or (0, None)
                fh.seek(start)
                left = None if end is None else end - start + 1
                while left is None or left > 0:
                    chunk = fh.read(CHUNK if left is None else min(CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    if left is not None:
                        left -= len(chunk)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

    return Handler


@dataclass
class RunningServer:
    config: EngineConfig
    store: ObjectStore
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve(config: EngineConfig) -> Iterator[RunningServer]:
    store = ObjectStore.for_data_dir(config.data_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(config, store))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningServer(config, store, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def from_engine(handle: object, *credentials: Credential) -> RunningServer:
    """The session ``local_engine`` (tests/conftest.py) seen as a RunningServer, with extra keys added."""
    config: EngineConfig = handle.config  # type: ignore[attr-defined]
    for credential in credentials:
        config.add_credential(credential)
    engine = handle.engine  # type: ignore[attr-defined]
    return RunningServer(config, engine.objects, engine.port)
