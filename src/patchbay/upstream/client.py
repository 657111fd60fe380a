"""Pooled HTTP client for upstream calls, with the gateway's timeouts and error mapping.

Calls whose body is in memory go on the lean HTTP/1.1 client (``lean``: our own kept-alive
connections); streamed uploads, ``HEAD``, URLs with credentials and guarded calls go on one
``aiohttp.ClientSession`` (keep-alive pool). Both are owned by the application lifespan. Timeouts
follow SPEC §6: connecting is bounded by ``min(10, timeout_s)``; ``timeout_s`` bounds a whole
non-streaming call and the longest silence between two chunks of a stream. Transport faults
become ``UpstreamError`` (502) or ``UpstreamTimeout`` (504) whose messages name the provider,
never its address or key.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp

from patchbay.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout
from patchbay.upstream import http1, lean
from patchbay.upstream.answers import (
    Body,
    Timeouts,
    UpstreamResponse,
    UpstreamStream,
    retry_after,
    timeouts,
)
from patchbay.upstream.guard import GuardedResolver, RefusedAddress, literal_host, refused
from patchbay.upstream.pool import Pool

log = logging.getLogger("patchbay.upstream")
USER_AGENT = "patchbay"


@dataclass(slots=True)
class _Head:
    """A streamed answer's head (status < 400), before its chunks."""

    status: int
    content_type: str
    at_eof: Callable[[], bool]


def _session(limit: int, resolver: Any = None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=0,
        ttl_dns_cache=None if resolver else 300,
        keepalive_timeout=60,
        resolver=resolver,
    )
    # No cookie jar: a cookie one upstream answer sets must never ride along on another user's
    # call. The User-Agent is set per request (see ``_headers``), so aiohttp adds none.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


@functools.lru_cache(maxsize=256)
def _timeout(spec: float | Timeouts, streaming: bool) -> aiohttp.ClientTimeout:
    """aiohttp's own timers: a whole call is bounded by ``total`` and waits at most the first
    byte timeout for its answer; a stream waits at most the idle gap for each read (its head
    is bounded separately when that differs, see ``_stream``)."""
    connect, first_byte, idle, total = timeouts(spec)
    if streaming:
        return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=idle)
    read = first_byte if first_byte < total else None
    return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)


def _headers(headers: dict[str, str]) -> dict[str, str]:
    """The caller's headers, with our ``User-Agent`` unless it gave one (in any case)."""
    if not any(k.lower() == "user-agent" for k in headers):
        headers = {**headers, "user-agent": USER_AGENT}
    return headers


class UpstreamClient:
    """``guarded=True`` calls (user bots' endpoints) go through a session whose resolver refuses
    non-public addresses, unless ``allow_private`` is set."""

    def __init__(self, *, limit: int = 1000, allow_private: bool = False) -> None:
        self._session = _session(limit)
        self._guarded = self._session if allow_private else _session(limit, GuardedResolver())
        self._allow_private = allow_private
        self._wire = Pool(limit)

    async def aclose(self) -> None:
        self._wire.close()
        await self._session.close()
        if self._guarded is not self._session:
            await self._guarded.close()

    def _wire_target(self, url: str, body: Body, guarded: bool, method: str) -> http1.Target | None:
        """Where a call goes on the lean client (``http1``), or ``None`` for aiohttp."""
        if guarded and not self._allow_private:
            return None
        if not isinstance(body, bytes) or method == "HEAD":
            return None
        return http1.target(url)

    def _pick(self, url: str, guarded: bool) -> aiohttp.ClientSession:
        if not guarded or self._allow_private:
            return self._session
        literal = literal_host(urlsplit(url).hostname or "")
        if literal is not None and refused(literal):
            raise RefusedAddress("this bot's endpoint points at a non-public address")
        return self._guarded

    async def post(
        self,
        provider: str,
        url: str,
        body: Body,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
        method: str = "POST",
    ) -> UpstreamResponse:
        where = self._wire_target(url, body, guarded, method)
        if where is not None:
            try:
                return await lean.post(
                    self._wire, where, cast(bytes, body), headers, timeout_s, method
                )
            except BaseException as exc:
                raise map_exception(provider, exc) from None
        session = self._pick(url, guarded)
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers=_headers(headers),
                timeout=_timeout(timeout_s, False),
            ) as r:
                data = await r.read()
                return UpstreamResponse(
                    r.status, data, r.headers.get("content-type", ""), _retry_after(r)
                )
        except BaseException as exc:
            raise map_exception(provider, exc) from None

    async def open_stream(
        self,
        provider: str,
        url: str,
        body: Body,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
        method: str = "POST",
    ) -> UpstreamStream:
        """Send the request and wait for the response head. A refusal (status >= 400) comes
        with its whole body read; otherwise ``chunks`` yields the body as it arrives."""
        where = self._wire_target(url, body, guarded, method)
        if where is not None:
            try:
                return await lean.stream(
                    provider,
                    self._wire,
                    where,
                    cast(bytes, body),
                    headers,
                    timeout_s,
                    method,
                )
            except BaseException as exc:
                raise map_exception(provider, exc) from None
        chunks = self._stream(provider, url, body, headers, timeout_s, guarded, method)
        try:
            head = await anext(chunks)
        except BaseException:
            await chunks.aclose()
            raise
        chunks_after = cast(AsyncGenerator[bytes, None], chunks)  # after the head: only bytes
        if isinstance(head, _Head):
            return UpstreamStream(
                head.status, head.content_type, b"", chunks_after, at_eof=head.at_eof
            )
        assert isinstance(head, UpstreamResponse)
        await chunks.aclose()
        return UpstreamStream(
            head.status, head.content_type, head.body, chunks_after, head.retry_after
        )

    async def _stream(
        self,
        provider: str,
        url: str,
        body: Body,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        guarded: bool,
        method: str = "POST",
    ) -> AsyncGenerator[UpstreamResponse | _Head | bytes, None]:
        """The response head first (the whole refusal when it is one), then the chunks."""
        session = self._pick(url, guarded)
        _, first_byte, idle, _ = timeouts(timeout_s)
        try:
            request = session.request(
                method, url, data=body, headers=_headers(headers), timeout=_timeout(timeout_s, True)
            )
            if first_byte == idle:  # aiohttp's read timer bounds the head too
                r = await request.__aenter__()
            else:
                async with asyncio.timeout(first_byte):
                    r = await request.__aenter__()
            try:
                if r.status >= 400:
                    data = await r.read()
                    yield UpstreamResponse(
                        r.status, data, r.headers.get("content-type", ""), _retry_after(r)
                    )
                    return
                yield _Head(r.status, r.headers.get("content-type", ""), r.content.at_eof)
                async for chunk in r.content.iter_any():
                    yield chunk
            finally:
                await request.__aexit__(None, None, None)
        except GeneratorExit:
            raise
        except BaseException as exc:
            raise map_exception(provider, exc) from None


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    return retry_after(response.status, response.headers.get("retry-after") or "")


def map_exception(provider: str, exc: BaseException) -> BaseException:
    """Translate a transport exception into the gateway's tree (others pass through)."""
    if isinstance(exc, GatewayError | asyncio.CancelledError | KeyboardInterrupt | SystemExit):
        return exc
    if isinstance(exc, http1.WireError):
        return lean.wire_error(provider, exc)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"upstream '{provider}' did not answer in time")
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidRequest(f"upstream '{provider}' has an invalid base URL")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if "non-public address" in str(exc):
            return RefusedAddress(f"upstream '{provider}' resolves to a non-public address")
        return UpstreamError(f"upstream '{provider}' refused the connection")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamError(f"upstream '{provider}' closed the connection mid-answer")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return UpstreamError(f"upstream '{provider}' failed: {type(exc).__name__}")
    log.exception("unexpected upstream failure for %s", provider)
    return UpstreamError(f"upstream '{provider}' failed")
