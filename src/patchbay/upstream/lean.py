"""The lean upstream client: calls whose body is in memory, on ``pool.Pool``'s kept-alive
HTTP/1.1 connections (``connection``, parsed by httptools), instead of aiohttp.

aiohttp's client costs about 120 µs of CPU per call on the bench machine — a request object
and its header multidicts, a writer task, a response object with its stream reader, URL
parsing, timers per read — where the same exchange over a kept-alive connection parsed by
httptools costs about 15 µs (measured side by side against nginx on loopback), and through
this module about 40. ``client.UpstreamClient`` decides which calls come here: streamed
uploads, ``HEAD``, URLs with credentials and guarded calls (user bots' endpoints, whose every
connection is checked by a resolver) stay on aiohttp.

What it speaks: HTTP/1.1 over TCP or TLS (the system's trust store, SNI, no ALPN — every
provider API answers HTTP/1.1); content-length, chunked and read-until-close bodies;
``gzip`` and ``deflate`` answers decoded (none is asked for); 1xx answers skipped. Faults are
worded as the aiohttp path words them: they name the provider, never its address.
"""

from __future__ import annotations

from patchbay.errors import GatewayError, UpstreamError, UpstreamTimeout
from patchbay.upstream import http1
from patchbay.upstream.answers import (
    Timeouts,
    UpstreamResponse,
    UpstreamStream,
    retry_after,
    timeouts,
)
from patchbay.upstream.connection import Connection
from patchbay.upstream.pool import Pool


def _text(headers: dict[bytes, bytes], name: bytes) -> str:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else ""


async def post(
    pool: Pool,
    where: http1.Target,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float | Timeouts,
    method: str,
) -> UpstreamResponse:
    """A whole answer (faults raised as ``http1.WireError``)."""
    connect, first_byte, _, total = timeouts(timeout_s)
    gap = first_byte if first_byte < total else None
    connection = await pool.call(method, where, headers, body, connect, gap, total)
    try:
        data = await connection.read_all()
    finally:
        pool.release(connection)
    status, found = connection.status, connection.headers
    return UpstreamResponse(
        status,
        data,
        _text(found, b"content-type"),
        retry_after(status, _text(found, b"retry-after")),
    )


async def stream(
    provider: str,
    pool: Pool,
    where: http1.Target,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float | Timeouts,
    method: str,
) -> UpstreamStream:
    """A stream's head, then its chunks as they arrive; a refusal (status >= 400) with its
    whole body read (faults raised as ``http1.WireError``)."""
    connect, first_byte, idle, _ = timeouts(timeout_s)
    connection = await pool.call(method, where, headers, body, connect, first_byte, None)
    status, found = connection.status, connection.headers
    content_type = _text(found, b"content-type")
    if status >= 400:
        try:
            data = await connection.read_all()
        finally:
            pool.release(connection)
        wait = retry_after(status, _text(found, b"retry-after"))
        return UpstreamStream(status, content_type, data, NO_CHUNKS, wait)
    if idle != first_byte:
        connection.watch(idle, None)
    chunks = WireChunks(provider, pool, connection)
    return UpstreamStream(status, content_type, b"", chunks, at_eof=chunks.at_eof)


class WireChunks:
    """A stream's body on the lean client: each read is what has arrived since the last."""

    __slots__ = ("connection", "pool", "provider")

    def __init__(self, provider: str, pool: Pool, connection: Connection) -> None:
        self.provider = provider
        self.pool = pool
        self.connection: Connection | None = connection

    def at_eof(self) -> bool:
        connection = self.connection
        return connection is None or connection.at_eof

    def __aiter__(self) -> WireChunks:
        return self

    async def __anext__(self) -> bytes:
        connection = self.connection
        if connection is None:
            raise StopAsyncIteration
        try:
            data = await connection.read()
        except BaseException as exc:
            await self.aclose()
            raise (
                wire_error(self.provider, exc) if isinstance(exc, http1.WireError) else exc
            ) from None
        if data is None:
            await self.aclose()
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            self.pool.release(connection)


class NoChunks:
    """A refusal's stream: its body was read whole."""

    def __aiter__(self) -> NoChunks:
        return self

    async def __anext__(self) -> bytes:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        return None


NO_CHUNKS = NoChunks()


def wire_error(provider: str, exc: http1.WireError) -> GatewayError:
    """The lean client's faults, worded as aiohttp's are."""
    if isinstance(exc, http1.WireTimeout):
        return UpstreamTimeout(f"upstream '{provider}' did not answer in time")
    if isinstance(exc, http1.ConnectFailed):
        return UpstreamError(f"upstream '{provider}' refused the connection")
    if isinstance(exc, http1.Disconnected):
        return UpstreamError(f"upstream '{provider}' closed the connection mid-answer")
    return UpstreamError(f"upstream '{provider}' failed: {type(exc).__name__}")
