"""Kept-alive upstream connections per origin (scheme, host, port), and the calls made on
them: at most ``limit`` open at once (an idle one is closed to make room), none reused after
``keepalive_s`` idle (it is closed when next found); a kept
connection found closed by the server is replaced, and a call that got nothing back on a
reused connection is sent once more on a fresh one (the server closed it as the call went
out)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from patchbay.upstream.connection import Connection
from patchbay.upstream.http1 import ConnectFailed, Disconnected, Target, WireTimeout, request_head


class Pool:
    """Kept-alive connections per origin, and the calls made on them."""

    def __init__(self, limit: int = 1000, keepalive_s: float = 60.0) -> None:
        self.limit = limit
        self.keepalive_s = keepalive_s
        self.idle: dict[tuple[str, str, int], list[Connection]] = {}
        self.open = 0
        self.slots: deque[asyncio.Future[None]] = deque()
        self._ssl: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _connect(self, origin: tuple[str, str, int], timeout: float) -> Connection:
        while self.open >= self.limit:
            if self._drop_idle():
                continue
            slot = self.loop.create_future()
            self.slots.append(slot)
            await slot
        self.open += 1
        scheme, host, port = origin
        try:
            async with asyncio.timeout(timeout):
                _, connection = await self.loop.create_connection(
                    lambda: Connection(self, origin),
                    host,
                    port,
                    ssl=self._context() if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
        except TimeoutError:
            self._released()
            raise WireTimeout("could not connect in time") from None
        except (OSError, ssl.SSLError) as exc:
            self._released()
            raise ConnectFailed(type(exc).__name__) from None
        except BaseException:
            self._released()
            raise
        return connection

    def close(self) -> None:
        """Close the idle connections (calls in progress close theirs when they end)."""
        self.closed = True
        idle, self.idle = self.idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.lost = True
                connection.transport.close()

    def _released(self) -> None:
        self.open -= 1
        while self.slots:
            slot = self.slots.popleft()
            if not slot.done():
                slot.set_result(None)
                break

    async def acquire(
        self, origin: tuple[str, str, int], timeout: float, fresh: bool
    ) -> Connection:
        idle = None if fresh else self.idle.get(origin)
        if idle:
            now = self.loop.time()
            while idle:
                connection = idle.pop()
                if connection.lost or connection.transport.is_closing():
                    continue
                if now - connection.idle_since > self.keepalive_s:
                    connection.transport.close()
                    continue
                connection.reused = True
                return connection
        connection = await self._connect(origin, timeout)
        connection.reused = False
        return connection

    def _drop_idle(self) -> bool:
        """Close one idle connection (the least recently used of an origin) to make room."""
        for connections in self.idle.values():
            if connections:
                connection = connections.pop(0)
                connection.lost = True
                connection.transport.abort()
                self.forget(connection)
                return True
        return False

    def release(self, connection: Connection) -> None:
        """Keep the connection for the next call if its answer allows it; close it if not."""
        connection.stop_watch()
        connection.busy = False
        if connection.reusable and not self.closed:
            connection.idle_since = self.loop.time()
            self.idle.setdefault(connection.origin, []).append(connection)
        elif not connection.lost:
            connection.lost = True
            connection.transport.abort()
            self.forget(connection)

    def forget(self, connection: Connection) -> None:
        """A connection closed (by either side): it no longer counts."""
        if connection.counted:
            connection.counted = False
            self._released()
        idle = self.idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)

    async def call(
        self,
        method: str,
        where: Target,
        headers: dict[str, str],
        body: bytes,
        connect_s: float,
        gap: float | None,
        deadline_s: float | None,
    ) -> Connection:
        """Send the request and wait for the answer's head; the connection carries the rest
        (``read`` / ``read_all``, then ``release``)."""
        send_length = None if (method in ("GET", "DELETE") and not body) else len(body)
        raw = request_head(method, where, headers, send_length)
        deadline = self.loop.time() + deadline_s if deadline_s is not None else None
        fresh = False
        while True:
            connection = await self.acquire(where.origin, connect_s, fresh)
            connection.begin()
            connection.busy = True
            connection.watch(gap, deadline)
            transport = connection.transport
            if len(body) > 65536:
                transport.writelines((raw, body))
            else:
                transport.write(raw + body if body else raw)
            try:
                await connection.head()
            except Disconnected:
                if connection.reused and not connection.got and not fresh:
                    fresh = True  # a kept connection the server had closed: once more
                    continue
                raise
            except BaseException:
                self.release(connection)
                raise
            return connection
