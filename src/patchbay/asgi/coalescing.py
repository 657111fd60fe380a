"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol, writing a response's
head together with its first body bytes.

uvicorn writes the status line and headers as soon as ``http.response.start`` is sent, then
the body in a second write: two ``send`` system calls (and two wake-ups of the client) for
every whole answer. Here the head is held until the first ``http.response.body`` message and
both go out in one write, as aiohttp's server does; a stream's head goes out with its first
chunk when that comes within ``STREAM_HEAD_WAIT_S``. Nothing else changes: the head is
rendered by uvicorn's own code, into a buffer. A cycle's ``on_gone`` is called when its client
leaves before the answer is complete (a stream uses it to stop at once, without a task of its
own waiting on ``receive``).

``serve`` passes ``CoalescingProtocol`` to uvicorn as its ``http`` protocol class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

STREAM_HEAD_WAIT_S = 0.05  # a stream's head waits this long for its first chunk, at most


class _Capture:
    """Stands in for the transport while uvicorn renders a held head and the first body."""

    __slots__ = ("closed", "parts", "real")

    def __init__(self, real: asyncio.Transport) -> None:
        self.real = real
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class CoalescingCycle(RequestResponseCycle):
    """A request's cycle whose response head waits for the first body message.

    A whole answer's body follows its head at once. A stream's head (no ``content-length``)
    waits at most ``STREAM_HEAD_WAIT_S`` for the first chunk, then is written alone, so a
    client of a slow upstream still sees the head when the upstream's arrived."""

    held: Any = None  # the http.response.start message not written yet
    timer: asyncio.TimerHandle | None = None
    heading: asyncio.Future[None] | None = None
    on_gone: Callable[[], None] | None = None  # called once if the client leaves mid-answer

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            self.held = message  # a later start (uvicorn's own 500) replaces an unsent one
            if self.timer is None and not _sized(message):
                loop = asyncio.get_running_loop()
                self.timer = loop.call_later(STREAM_HEAD_WAIT_S, self._head_due)
            return
        if self.heading is not None:
            await self.heading
        start = self.held
        if start is None:
            await super().send(message)
            return
        self.held = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        real = self.transport
        capture = _Capture(real)
        self.transport = capture  # type: ignore[assignment]
        try:
            await super().send(start)
            await super().send(message)
        finally:
            self.transport = real
            if capture.parts:
                real.write(b"".join(capture.parts))
            if capture.closed:
                real.close()

    def _head_due(self) -> None:
        self.timer = None
        if self.held is not None:
            self.heading = asyncio.ensure_future(self._write_head())

    async def _write_head(self) -> None:
        start, self.held = self.held, None
        if start is not None:
            await RequestResponseCycle.send(self, start)


def _sized(start: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in start.get("headers") or ())


class CoalescingProtocol(HttpToolsProtocol):
    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and cycle.disconnected:  # uvicorn's mark: left mid-answer
            gone = getattr(cycle, "on_gone", None)
            if gone is not None:
                cycle.on_gone = None  # type: ignore[attr-defined]
                gone()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            cycle.__class__ = CoalescingCycle  # before its task first runs
