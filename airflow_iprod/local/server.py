"""The engine's HTTP server: one port for the RPC APIs and the OSS-compatible object API.

Stdlib only (``ThreadingHTTPServer``, HTTP/1.1 keep-alive). The handler turns the wire request into an
``HttpRequest``; RPC requests get their (small) body read whole, object requests get a de-framed body
stream so large uploads are never held in memory. Responses may be bytes or a file (range) to stream.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

from airflow_iprod.local.http import Headers, HttpRequest, HttpResponse, TransportProblem

MAX_RPC_BODY = 10 << 20
MAX_LINE = 65536  # http.server's limit on the request line and on each header line
MAX_SKIPPED = 16 << 20  # an over-long request line is read (and dropped) up to this much
COPY_CHUNK = 1 << 20
HANDSHAKE_TIMEOUT_S = 10.0


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
            if length is not None and length < 0:
                raise ValueError(length_text)
        except ValueError:
            self._refuse(
                request, TransportProblem(400, f"Content-Length={length_text!r} is not valid: a byte count")
            )
            return
        reader = BodyReader(self.rfile, length, chunked)
        if self.server.is_rpc(request):
            if length is not None and length > MAX_RPC_BODY:
                self._refuse(
                    request,
                    TransportProblem(
                        413,
                        f"the request body has {length} bytes; at most {MAX_RPC_BODY}",
                        oss_code="EntityTooLarge",
                    ),
                )
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

    def _refuse(self, request: HttpRequest, problem: TransportProblem) -> None:
        """Answer ``problem`` through the edge the request was for, then close (its body is unread)."""
        request.problem = problem
        self.close_connection = True
        response = self.server.dispatch(request)
        response.headers["Connection"] = "close"  # or a pooling client resends on the closed socket
        self._write(response)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (request line or headers too long, bad syntax) in the cloud's
        error body, JSON for RPC and XML for OSS, instead of an HTML page."""
        try:
            request = self._unparsed_request(code)
            what = message or HTTPStatus(code).phrase
            problem = TransportProblem(code, _problem_text(code, what, request))
        except Exception:  # the connection is beyond use: http.server's plain refusal will do
            super().send_error(code, message, explain)
            return
        self._refuse(request, problem)

    def _unparsed_request(self, code: int) -> HttpRequest:
        """What can be known of a request http.server refused: method, (truncated) target, headers."""
        raw: bytes = getattr(self, "raw_requestline", b"") or b""
        if code == HTTPStatus.REQUEST_URI_TOO_LONG:
            ended, skipped = raw.endswith(b"\n"), len(raw)
            while not ended and skipped < MAX_SKIPPED:  # the rest of the line, dropped
                more = self.rfile.readline(MAX_LINE + 1)
                skipped += len(more)
                ended = not more or more.endswith(b"\n")
            parsed = http.client.parse_headers(self.rfile)  # type: ignore[arg-type]
            header_items: Any = parsed.items()
        else:
            header_items = self.headers.items() if getattr(self, "headers", None) is not None else ()
        words = raw.decode("latin-1").split()
        headers = Headers()
        for name, value in header_items:
            headers[name] = value
        self.command = ""  # not HEAD: the error body is always sent
        return HttpRequest(
            method=words[0] if words else "GET",
            target=words[1] if len(words) > 1 else "/",
            headers=headers,
            client=self.client_address[0],
        )

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


def _problem_text(code: int, what: str, request: HttpRequest) -> str:
    if code != HTTPStatus.REQUEST_URI_TOO_LONG:
        return f"the request cannot be read: {what}"
    pairs = parse_qsl(urlsplit(request.target).query, keep_blank_values=True)
    name, value = max(pairs, key=lambda p: len(p[1]), default=("", ""))
    culprit = f"; parameter {name} alone has {len(value)}+ characters" if name else ""
    return (
        f"the request line is longer than {MAX_LINE} bytes{culprit} (shorten the values; a JobParams "
        "text may be long, but a request line may not)"
    )


class EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        dispatch: Dispatch,
        is_rpc: IsRpc,
        verbose: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.dispatch = dispatch
        self.is_rpc = is_rpc
        self.verbose = verbose
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.ssl_context is not None:  # the handshake runs in the handler thread, not the accept loop
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(HANDSHAKE_TIMEOUT_S)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ssl.SSLError):  # a client that does not trust us, or speaks plain HTTP
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)


__all__ = ["BodyReader", "EngineHTTPServer"]
