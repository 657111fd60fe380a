"""Small request/response helpers shared by the protocol endpoints (no framework magic)."""

from __future__ import annotations

from collections.abc import Callable
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
            self.raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    def add_raw_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.raw_headers += headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONReply:
    return JSONReply(orjson.dumps(data), status, headers)


def error_response(error: GatewayError, protocol: Protocol) -> JSONReply:
    status, body, headers = render(error, protocol)
    return JSONReply(body, status, headers)


def pick_api_key(
    authorization: str | None,
    x_api_key: str | None,
    x_goog_api_key: str | None,
    key_param: Callable[[], str | None],
) -> str | None:
    """The API key however the client's SDK sends it (SPEC §2): bearer token, ``x-api-key``,
    ``x-goog-api-key``, then the ``key`` query parameter (read only when needed)."""
    if authorization and authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
        if token:
            return token
    return x_api_key or x_goog_api_key or key_param()


def client_key(request: Request) -> str | None:
    headers = request.headers
    return pick_api_key(
        headers.get("authorization"),
        headers.get("x-api-key"),
        headers.get("x-goog-api-key"),
        lambda: request.query_params.get("key"),
    )
