"""Transport-neutral request/response shapes shared by the engine's RPC and object-storage front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit


class Headers(dict[str, str]):
    """Case-insensitive header map (keys stored lower-case)."""

    def __init__(self, items: object = ()) -> None:
        super().__init__()
        pairs = items.items() if isinstance(items, dict) else items
        for key, value in pairs:  # type: ignore[union-attr]
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass(frozen=True)
class TransportProblem:
    """A request the HTTP server could not take as sent (request line or headers too long, body too
    large, bad framing). It still goes to the RPC or OSS edge, which answers it in its own error body
    (JSON or XML) with these codes instead of http.server's HTML page, which no SDK can read."""

    status: int
    message: str
    rpc_code: str = "InvalidParameter"
    oss_code: str = "InvalidArgument"


@dataclass
class HttpRequest:
    method: str
    target: str  # raw request target: path and query exactly as received (signatures need it)
    headers: Headers
    body: bytes = b""
    client: str = ""
    # Optional streamed body (added for the object API): when set, handlers read the body from here instead of
    # ``body`` -- exactly the body bytes, then EOF (the server de-frames Content-Length / chunked). The server
    # should pass it for object uploads so a large PutObject/UploadPart is never held in memory.
    body_stream: BinaryIO | None = None
    problem: TransportProblem | None = None  # set by the server: answer with this error, nothing else

    @property
    def path(self) -> str:
        """Raw (still percent-encoded) path."""
        return urlsplit(self.target).path or "/"

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    @property
    def query(self) -> list[tuple[str, str]]:
        """Decoded query pairs in order, blanks kept (``?acl`` -> ``("acl", "")``)."""
        return parse_qsl(self.raw_query, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.headers.get("host", "") or ""


@dataclass
class HttpResponse:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When set, the server streams the file (or the byte range) instead of ``body``.
    file_path: str | None = None
    file_range: tuple[int, int] | None = None  # inclusive start, inclusive end
