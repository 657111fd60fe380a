"""Whole answers as ASGI responses, with headers kept as the raw list ASGI sends.

``Reply`` is what every model-call path answers with: an ASGI callable that takes extra headers
(rate-limit headers are added after the answer is built). ``JSONReply`` is what Starlette's
``Response`` does for bytes, without the per-response header object; ``BytesReply`` is the
same for any content type (an upstream's refusal relayed as it came).
"""

from __future__ import annotations

from typing import Any
from typing import Protocol as Interface

import orjson
from starlette.types import Receive, Scope, Send

JSON_TYPE = b"application/json"
RawHeaders = list[tuple[bytes, bytes]]


class Reply(Interface):
    """An ASGI response that takes extra headers before it is sent."""

    def add_raw_headers(self, headers: RawHeaders) -> None: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class BytesReply:
    __slots__ = ("status_code", "body", "raw_headers")

    def __init__(
        self,
        body: bytes,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        content_type: bytes = JSON_TYPE,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.raw_headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
        ]
        if headers:
            self.raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    def add_raw_headers(self, headers: RawHeaders) -> None:
        self.raw_headers += headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


class JSONReply(BytesReply):
    """A whole JSON answer (``body`` is already encoded)."""

    __slots__ = ()

    def __init__(
        self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body, status_code, headers)


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONReply:
    return JSONReply(orjson.dumps(data), status, headers)
