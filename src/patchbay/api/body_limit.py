"""Pure ASGI middleware refusing request bodies over ``max_body_bytes`` with 413, and bodies
that do not arrive within ``body_timeout_s`` with 408 (the FastAPI routes; the model-call
edges read theirs through ``Exchange.receive``, with the same limits)."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchbay.asgi.receiving import receive_by
from patchbay.errors import RequestTimedOut, RequestTooLarge
from patchbay.protocols.envelopes import protocol_for_path, render


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 60.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                break
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(scope, send)
                return
            await self.app(scope, self._counting(receive, None), send)
            return
        await self.app(scope, self._counting(receive, self.max_bytes), send)

    def _counting(self, receive: Receive, limit: int | None) -> Receive:
        seen = 0
        timeout = self.timeout_s
        deadline: float | None = None

        async def wrapped() -> Message:
            nonlocal seen, deadline
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + timeout
            try:
                message = await receive_by(receive, deadline)
            except TimeoutError:
                raise RequestTimedOut(
                    f"the request body did not arrive within {timeout:g} s"
                ) from None
            if limit is not None and message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RequestTooLarge(f"request body exceeds {limit} bytes")
            return message

        return wrapped

    async def _refuse(self, scope: Scope, send: Send) -> None:
        error = RequestTooLarge(f"request body exceeds {self.max_bytes} bytes")
        status, body, _ = render(error, protocol_for_path(scope.get("path", "")))
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
