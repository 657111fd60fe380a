"""A Server-Sent Events response that always closes its source.

The body iterator is closed on every exit — normal end, client disconnect, server shutdown — so
the code producing the stream (metering included) runs its ``finally`` promptly instead of
whenever the garbage collector gets to it. A client disconnect is noticed while waiting on the
upstream, not only at the next write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.types import Receive, Scope, Send

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class SSEResponse:
    def __init__(
        self,
        body: AsyncGenerator[bytes, None],
        headers: dict[str, str] | None = None,
        media_type: bytes | None = None,
    ) -> None:
        self.body = body
        self.headers = list(SSE_HEADERS)
        if media_type:
            self.headers[0] = (b"content-type", media_type)
        for name, value in (headers or {}).items():
            self.headers.append((name.lower().encode(), value.encode()))

    def add_raw_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers += headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streamer = asyncio.ensure_future(self._stream(send))
        watcher = asyncio.ensure_future(self._wait_disconnect(receive))
        try:
            await asyncio.wait({streamer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streamer, watcher):
                if not task.done():
                    task.cancel()
            await asyncio.gather(streamer, watcher, return_exceptions=True)
            await self.body.aclose()
        if streamer.done() and not streamer.cancelled() and streamer.exception():
            exc = streamer.exception()
            if not isinstance(exc, OSError):
                raise exc  # type: ignore[misc]

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        async for chunk in self.body:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _wait_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
