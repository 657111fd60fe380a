"""A deadline on each request's head: the HTTP protocol the server runs, with slow senders cut.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``) but not a request whose
head arrives a byte at a time: every byte received re-arms nothing and cancels its keep-alive
timer, so a client that trickles header lines holds the connection, and a few hundred of them
hold the server. Here each request's head must be complete within ``header_timeout_s`` of its
first byte (the first request's: of the connection opening); a late one is answered 408 and
its connection closed. The body's own deadline is the edges' (``api.exchange``,
``api.body_limit``). The heads' deadlines and uvicorn's keep-alive wait are kept by one sweep
per server (``Sweeper``), not by a timer per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from patchbay.asgi.coalescing import CoalescingProtocol
from patchbay.settings import load_settings

_TIMEOUT_S: float | None = None


def head_timeout_s() -> float:
    """``header_timeout_s`` of this process's settings (read once: workers build their own)."""
    global _TIMEOUT_S
    if _TIMEOUT_S is None:
        _TIMEOUT_S = load_settings().header_timeout_s
    return _TIMEOUT_S


def timeout_answer(timeout: float) -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "type": "invalid_request_error",
                "message": f"the request head did not arrive within {timeout:g} s",
                "code": "request_timeout",
                "param": None,
            }
        }
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class Sweeper:
    """One timer for all of a server's connection deadlines, instead of one per request.

    A timer armed and cancelled for every request (the head's deadline, then uvicorn's
    keep-alive wait after the answer) costs microseconds each on the request path; here each
    connection only notes when its head began or its idle wait did, and this sweep — every
    ``period`` seconds while the server has connections — cuts the ones past their deadline.
    A deadline is therefore kept to within ``period`` (a quarter of the shorter timeout, at
    most a second). It lives on uvicorn's per-server state, beside its set of connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, state: Any, period: float) -> None:
        self.loop = loop
        self.state = state
        self.period = period
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, protocol: DeadlineProtocol) -> Sweeper:
        state: Any = protocol.server_state
        sweeper: Sweeper | None = getattr(state, "patchbay_sweeper", None)
        if sweeper is None or sweeper.loop is not protocol.loop:
            shortest = min(head_timeout_s(), float(protocol.timeout_keep_alive))
            period = min(1.0, max(0.05, shortest / 4))
            sweeper = cls(protocol.loop, state, period)
            state.patchbay_sweeper = sweeper
        return sweeper

    def ensure(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.period, self.sweep)

    def sweep(self) -> None:
        self.timer = None
        now = self.loop.time()
        for connection in list(self.state.connections):
            overdue = getattr(connection, "overdue", None)
            if overdue is not None:
                overdue(now)
        if self.state.connections:
            self.ensure()


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on every request's head, and its
    keep-alive wait kept by the ``Sweeper`` rather than a timer per answer."""

    _head_since: float | None = None  # loop time the pending head began (None: no head due)
    _idle_since: float | None = None  # loop time the connection began waiting for a request

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_since = self.loop.time()
        Sweeper.of(self).ensure()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_since is None:  # a later request on this connection: from its first byte
            self._head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._head_since = None
        super().on_headers_complete()

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # data came (or an answer ended): the idle wait is over
        super()._unset_keepalive_if_required()

    def on_response_complete(self) -> None:
        """What uvicorn's own does when no pipelined request waits (uvicorn 0.30 to 0.55
        alike), with the keep-alive wait noted instead of timed; uvicorn's own otherwise."""
        if self.pipeline or self.transport.is_closing():
            super().on_response_complete()  # the next request starts: no keep-alive wait
            return
        self.server_state.total_requests += 1
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        self._idle_since = self.loop.time()

    def overdue(self, now: float) -> None:
        """Cut this connection if its head or its idle wait is past its deadline."""
        head = self._head_since
        if head is not None and now - head >= head_timeout_s():
            self._head_since = None
            self._head_late()
            return
        idle = self._idle_since
        if idle is not None and now - idle >= self.timeout_keep_alive:
            self._idle_since = None
            self.timeout_keep_alive_handler()

    def _head_late(self) -> None:
        transport: Any = self.transport
        if transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False  # a response is being written: close after it
            return
        transport.write(timeout_answer(head_timeout_s()))
        transport.close()


class ServerProtocol(DeadlineProtocol, CoalescingProtocol):
    """The protocol ``serve`` runs: head deadlines over the coalescing writes."""
