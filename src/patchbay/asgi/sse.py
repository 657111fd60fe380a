"""A Server-Sent Events response that always closes its source.

The body iterator is closed on every exit — normal end, client disconnect, server shutdown — so
the code producing the stream (metering included) runs its ``finally`` promptly instead of
whenever the garbage collector gets to it. The stream runs in the request's own task, which a
client disconnect cancels even while the stream waits on its upstream, not only at the next
write: our server protocol calls the cycle's ``on_gone`` (``asgi.coalescing``); under any other
server a watcher task waits on ``receive`` for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from starlette.types import Receive, Scope, Send

from patchbay.asgi.coalescing import CoalescingCycle

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class LastChunk(bytes):
    """A stream's last bytes: the producer knows nothing follows (its upstream is at its end),
    so they are sent with the end of the body, in one write."""


class SSEResponse:
    _gone = False

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
        task = asyncio.current_task()
        assert task is not None
        self._done = False
        cycle = getattr(receive, "__self__", None)
        watcher: asyncio.Future[None] | None = None
        if isinstance(cycle, CoalescingCycle):  # the server tells of a client gone: no watcher
            if cycle.disconnected:
                self._left(task)
            else:
                cycle.on_gone = lambda: self._left(task)
        else:
            watcher = asyncio.ensure_future(self._watch(receive, task))
        try:
            await self._stream(send)
        except asyncio.CancelledError:
            if not self._gone:
                raise
            task.uncancel()  # the client went away: the stream ends here, quietly
        except OSError:
            pass  # the client's connection broke mid-write
        finally:
            self._done = True
            if watcher is not None:
                watcher.cancel()
            elif isinstance(cycle, CoalescingCycle):
                cycle.on_gone = None
            await self.body.aclose()

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        async for chunk in self.body:
            if chunk.__class__ is LastChunk:  # the end of the body goes out in the same write
                await send({"type": "http.response.body", "body": chunk, "more_body": False})
                return
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _left(self, task: asyncio.Task[object]) -> None:
        """The client disconnected: the streaming task is cancelled (noticed while the stream
        waits on its upstream, not only at the next write)."""
        if not self._done:
            self._gone = True
            task.cancel()

    async def _watch(self, receive: Receive, task: asyncio.Task[object]) -> None:
        """Under a server other than ours: learn of a disconnect by waiting on ``receive``."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._left(task)
                return
