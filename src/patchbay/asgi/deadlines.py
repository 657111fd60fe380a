"""A deadline on each request's head: the HTTP protocol the server runs, with slow senders cut.

uvicorn bounds an idle keep-alive connection (``timeout_keep_alive``) but not a request whose
head arrives a byte at a time: every byte received re-arms nothing and cancels its keep-alive
timer, so a client that trickles header lines holds the connection, and a few hundred of them
hold the server. Here each request's head must be complete within ``header_timeout_s`` of its
first byte (the first request's: of the connection opening); a late one is answered 408 and
its connection closed. The body's own deadline is the edges' (``api.exchange``,
``api.body_limit``).
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


class HeadDeadline(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on every request's head."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a later request on this connection: from its first byte
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(head_timeout_s(), self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        transport: Any = self.transport
        if transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False  # a response is being written: close after it
            return
        transport.write(timeout_answer(head_timeout_s()))
        transport.close()


class ServerProtocol(HeadDeadline, CoalescingProtocol):
    """The protocol ``serve`` runs: head deadlines over the coalescing writes."""
