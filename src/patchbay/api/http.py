"""Small request/response helpers shared by the protocol endpoints (no framework magic)."""

from __future__ import annotations

from typing import Any
from typing import Protocol as Interface

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from patchbay.api.envelopes import Protocol, render
from patchbay.errors import GatewayError

JSON_TYPE = b"application/json"


class Reply(Interface):
    """What the model-call endpoints answer with: an ASGI response that takes extra headers."""

    def add_raw_headers(self, headers: list[tuple[bytes, bytes]]) -> None: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class JSONReply:
    """A whole JSON answer as one ASGI response: what Starlette's ``Response`` does for bytes,
    with the headers kept as the raw list ASGI sends."""

    __slots__ = ("status_code", "body", "raw_headers")

    def __init__(
        self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.raw_headers = [
            (b"content-type", JSON_TYPE),
            (b"content-length", str(len(body)).encode()),
        ]
        if headers:
            self.add_headers(headers)

    def add_headers(self, headers: dict[str, str]) -> None:
        self.raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    def add_raw_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.raw_headers += headers

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.raw_headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONReply:
    return JSONReply(orjson.dumps(data), status, headers)


def add_headers(response: Any, headers: dict[str, str]) -> None:
    """Add headers to a ``JSONReply``, an ``SSEResponse`` or a Starlette response."""
    if hasattr(response, "add_headers"):
        response.add_headers(headers)
    else:
        response.headers.update(headers)


def error_response(error: GatewayError, protocol: Protocol) -> JSONReply:
    status, body, headers = render(error, protocol)
    return JSONReply(body, status, headers)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def client_key(request: Request) -> str | None:
    """The API key however the client's SDK sends it (SPEC §2)."""
    headers = request.headers
    return (
        bearer_token(request)
        or headers.get("x-api-key")
        or headers.get("x-goog-api-key")
        or request.query_params.get("key")
    )
