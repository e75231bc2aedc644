"""The engine's HTTP server: one port for the RPC APIs and the OSS-compatible object API.

Stdlib only (``ThreadingHTTPServer``, HTTP/1.1 keep-alive). The handler turns the wire request into an
``HttpRequest``; RPC requests get their (small) body read whole, object requests get a de-framed body
stream so large uploads are never held in memory. Responses may be bytes or a file (range) to stream.
"""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO

from airflow_iprod.local.http import Headers, HttpRequest, HttpResponse

MAX_RPC_BODY = 10 << 20
COPY_CHUNK = 1 << 20


class BodyReader:
    """Exactly the request body (Content-Length or chunked framing removed), then EOF."""

    def __init__(self, raw: BinaryIO, length: int | None, chunked: bool) -> None:
        self._raw = raw
        self._left = length or 0
        self._chunked = chunked
        self._chunk_left = 0
        self._done = not chunked and not length

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(COPY_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self._done or size == 0:
            return b""
        if not self._chunked:
            data = self._raw.read(min(size, self._left))
            self._left -= len(data)
            if not data or self._left <= 0:
                self._done = True
            return data
        if self._chunk_left == 0:
            line = self._raw.readline(1024).strip()
            size_hex = line.split(b";", 1)[0]
            self._chunk_left = int(size_hex or b"0", 16)
            if self._chunk_left == 0:
                while self._raw.readline(1024).strip():  # trailers
                    pass
                self._done = True
                return b""
        data = self._raw.read(min(size, self._chunk_left))
        self._chunk_left -= len(data)
        if not data:
            self._done = True
        elif self._chunk_left == 0:
            self._raw.readline(16)  # CRLF after the chunk
        return data

    def drain(self) -> None:
        while self.read(COPY_CHUNK):
            pass


Dispatch = Callable[[HttpRequest], HttpResponse]
IsRpc = Callable[[HttpRequest], bool]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms Nagle stall
    server: EngineHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # quiet: the engine is chatty enough
        if self.server.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
        headers = Headers()
        for name, value in self.headers.items():
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        request = HttpRequest(
            method=self.command, target=self.path, headers=headers, client=self.client_address[0]
        )
        length_text = headers.get("content-length")
        chunked = "chunked" in (headers.get("transfer-encoding") or "").lower()
        try:
            length = int(length_text) if length_text else None
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        reader = BodyReader(self.rfile, length, chunked)
        if self.server.is_rpc(request):
            if length is not None and length > MAX_RPC_BODY:
                self.send_error(413)
                self.close_connection = True
                return
            request.body = reader.read()
        else:
            request.body_stream = reader  # type: ignore[assignment]
        response = self.server.dispatch(request)
        try:
            reader.drain()  # keep the connection usable even if a handler refused before reading
        except (OSError, ValueError):
            self.close_connection = True
        self._write(response)

    def _write(self, response: HttpResponse) -> None:
        # send_response_only: send_response would add a second Date/Server next to the handler's own.
        self.log_request(response.status)
        self.send_response_only(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        headers.setdefault("date", ("Date", self.date_time_string()))
        headers.setdefault("server", ("Server", "airflow-iprod-local"))
        fh = None
        start, count = 0, len(response.body)
        if response.file_path is not None:
            fh = open(response.file_path, "rb")  # noqa: SIM115 - closed below
            if response.file_range is not None:
                start, end = response.file_range
                count = end - start + 1
            else:
                fh.seek(0, 2)
                count = fh.tell()
        if "content-length" not in headers:
            headers["content-length"] = ("Content-Length", str(count))
        for name, value in headers.values():
            self.send_header(name, value)
        self.end_headers()
        try:
            if self.command == "HEAD":
                return
            if fh is not None:
                fh.seek(start)
                _copy(fh, self.wfile, count)
            else:
                self.wfile.write(response.body)
        finally:
            if fh is not None:
                fh.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _serve


def _copy(src: BinaryIO, dest: BinaryIO, count: int) -> None:
    left = count
    while left > 0:
        chunk = src.read(min(COPY_CHUNK, left))
        if not chunk:
            break
        dest.write(chunk)
        left -= len(chunk)


class EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], dispatch: Dispatch, is_rpc: IsRpc, verbose: bool = False
    ) -> None:
        self.dispatch = dispatch
        self.is_rpc = is_rpc
        self.verbose = verbose
        super().__init__(address, _Handler)


__all__ = ["BodyReader", "EngineHTTPServer"]
