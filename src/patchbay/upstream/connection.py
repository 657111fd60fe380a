"""One kept-alive upstream connection: an asyncio protocol whose answers httptools parses.

A call's state lives on the connection (one call at a time): the head, the body's pieces as
they arrive (reading pauses past ``HIGH_WATER`` unread bytes of a stream), the end, or the
fault. Timers: one per call on the loop (C timers under uvloop), checked lazily — the gap
between two reads (``gap``) and the whole call (``deadline``); a stream the gateway's own
client reads slowly (reading paused) is not timed out for it.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import httptools

from patchbay.upstream.http1 import BadAnswer, Disconnected, WireTimeout

if TYPE_CHECKING:
    from patchbay.upstream.pool import Pool

HIGH_WATER = 256 * 1024  # a stream's unread answer bytes before reading pauses
NO_BODY = (204, 304)
KEPT = frozenset({b"content-type", b"retry-after", b"content-encoding", b"content-length"})


class Connection(asyncio.Protocol):
    """One upstream connection; one call at a time."""

    transport: asyncio.Transport

    def __init__(self, pool: Pool, origin: tuple[str, str, int]) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False
        self.reused = False
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.counted = True  # among the pool's open connections
        self.busy = False  # a call is in progress on it
        self.begin()

    # -- a call's state --------------------------------------------------------------------

    def begin(self) -> None:
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.headed = False
        self.done = False
        self.framed = True  # content-length or chunked: not read until close
        self.keep_alive = False  # both sides keep the connection (read at the head)
        self.informational = False
        self.got = False  # any byte of an answer arrived
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.whole = False  # read to its end at once: never paused
        self.decoder: Any = None
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.activity = self.loop.time()
        self.gap: float | None = None
        self.deadline: float | None = None

    def watch(self, gap: float | None, deadline: float | None) -> None:
        """Bound the call: at most ``gap`` s between reads, and done by ``deadline``."""
        self.gap, self.deadline = gap, deadline
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._arm(self.loop.time())

    def _arm(self, now: float) -> None:
        due = None
        if self.gap is not None:
            due = self.activity + self.gap
        if self.deadline is not None and (due is None or self.deadline < due):
            due = self.deadline
        if due is not None:
            self.timer = self.loop.call_at(max(due, now), self._tick)

    def _tick(self) -> None:
        self.timer = None
        if self.done or self.error is not None:
            return
        now = self.loop.time()
        if self.paused:  # our own reader is behind: the upstream is not silent
            self.activity = now
        late = (self.deadline is not None and now >= self.deadline) or (
            self.gap is not None and now - self.activity >= self.gap
        )
        if late:
            self.fail(WireTimeout("no answer in time"))
            self.transport.abort()
        else:
            self._arm(now)

    def stop_watch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        waiter = self.waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            if self.waiter is waiter:
                self.waiter = None

    async def head(self) -> None:
        """Until the answer's head has arrived (or the call failed)."""
        while not self.headed:
            if self.error is not None:
                raise self.error
            await self._wait()

    async def read(self) -> bytes | None:
        """What has arrived of the body since the last read (at least one byte), or ``None``
        at its end."""
        while True:
            chunks = self.chunks
            if chunks:
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self.buffered = 0
                if self.paused and not self.lost:
                    self.paused = False
                    self.transport.resume_reading()
                return data
            if self.error is not None:
                raise self.error
            if self.done:
                return None
            await self._wait()

    async def read_all(self) -> bytes:
        self.whole = True
        if self.paused and not self.lost:
            self.paused = False
            self.transport.resume_reading()
        while not self.done:
            if self.error is not None:
                raise self.error
            await self._wait()
        if self.error is not None:
            raise self.error
        chunks = self.chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        return data

    @property
    def at_eof(self) -> bool:
        return self.done and not self.chunks

    @property
    def reusable(self) -> bool:
        return (
            self.done and self.error is None and not self.lost and self.framed and self.keep_alive
        )

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # bytes nobody asked for: this connection cannot be trusted again
            self.lost = True
            self.transport.abort()
            return
        self.got = True
        self.activity = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(BadAnswer(f"not an HTTP answer: {type(exc).__name__}"))
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.stop_watch()
        self.pool.forget(self)
        if self.done:
            return
        if self.headed and not self.framed and self.error is None:
            self._finish()  # read until close: this is its end
            return
        self.fail(Disconnected("the upstream closed the connection mid-answer"))

    # -- httptools callbacks --------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        low = name.lower()
        if low in KEPT or low == b"transfer-encoding":
            self.headers[low] = value

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                self.fail(BadAnswer("the upstream switched protocols"))
                self.transport.abort()
                return
            self.informational = True
            self.headers = {}
            return
        headers = self.headers
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        self.framed = (
            status in NO_BODY
            or b"content-length" in headers
            or b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        )
        encoding = headers.get(b"content-encoding", b"").strip().lower()
        if encoding in (b"gzip", b"x-gzip"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == b"deflate":
            self.decoder = zlib.decompressobj()
        elif encoding not in (b"", b"identity"):
            self.fail(BadAnswer("the upstream answered in an encoding it was not offered"))
            self.transport.abort()
            return
        self.headed = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.decoder is not None:
            try:
                body = self.decoder.decompress(body)
            except zlib.error:
                self.fail(BadAnswer("the upstream's compressed answer is corrupt"))
                self.transport.abort()
                return
            if not body:
                return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and not self.whole:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        self._finish()

    def _finish(self) -> None:
        if self.decoder is not None:
            rest = self.decoder.flush()
            if rest:
                self.chunks.append(rest)
        self.done = True
        self.stop_watch()
        self._wake()
