"""Pooled HTTP client for upstream calls, with the gateway's timeouts and error mapping.

One ``aiohttp.ClientSession`` (keep-alive pool) is owned by the application lifespan. Timeouts
follow SPEC §6: connecting is bounded by ``min(10, timeout_s)``; ``timeout_s`` bounds a whole
non-streaming call and the longest silence between two chunks of a stream. Transport faults
become ``UpstreamError`` (502) or ``UpstreamTimeout`` (504) whose messages name the provider,
never its address or key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from patchbay.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout

log = logging.getLogger("patchbay.upstream")

# Called with the host about to be connected to; raises to refuse it (user bots' address rule).
AddressGuard = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    body: bytes
    content_type: str


class UpstreamClient:
    def __init__(self, *, limit: int = 1000) -> None:
        self._connector = aiohttp.TCPConnector(
            limit=limit, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=60
        )
        self._session = aiohttp.ClientSession(
            connector=self._connector,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            json_serialize=None,  # type: ignore[arg-type]
        )

    async def aclose(self) -> None:
        await self._session.close()

    async def post(
        self, provider: str, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> UpstreamResponse:
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(10.0, timeout_s))
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
                data = await r.read()
                return UpstreamResponse(r.status, data, r.headers.get("content-type", ""))
        except BaseException as exc:
            raise map_exception(provider, exc) from None

    async def stream(
        self, provider: str, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> AsyncIterator[UpstreamResponse | bytes]:
        """Yield the response head first (with an empty body), then the body's chunks."""
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(10.0, timeout_s), sock_read=timeout_s
        )
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
                if r.status >= 400:
                    data = await r.read()
                    yield UpstreamResponse(r.status, data, r.headers.get("content-type", ""))
                    return
                yield UpstreamResponse(r.status, b"", r.headers.get("content-type", ""))
                async for chunk in r.content.iter_any():
                    yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            raise map_exception(provider, exc) from None


def map_exception(provider: str, exc: BaseException) -> BaseException:
    """Translate a transport exception into the gateway's tree (others pass through)."""
    if isinstance(exc, GatewayError | asyncio.CancelledError | KeyboardInterrupt | SystemExit):
        return exc
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamTimeout(f"upstream '{provider}' did not answer in time")
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidRequest(f"upstream '{provider}' has an invalid base URL")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError(f"upstream '{provider}' refused the connection")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamError(f"upstream '{provider}' closed the connection mid-answer")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return UpstreamError(f"upstream '{provider}' failed: {type(exc).__name__}")
    log.exception("unexpected upstream failure for %s", provider)
    return UpstreamError(f"upstream '{provider}' failed")
