"""What an upstream call gives back — a whole answer, or a stream's head and its chunks —
and the timeouts a provider's calls run under (SPEC §6)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

# a request body: bytes, or an async iterable of chunks streamed as they come (uploads read
# from a spool; aiohttp sends it chunked, or with the Content-Length given in the headers)
Body = bytes | AsyncIterable[bytes]


@dataclass(slots=True)
class UpstreamResponse:
    """A whole upstream answer: its status, body and content type."""

    status: int
    body: bytes
    content_type: str
    retry_after: float | None = None  # seconds, from a refusal's Retry-After header


class Chunks(Protocol):
    """A streamed body's chunks; ``aclose`` releases the connection."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class UpstreamStream:
    """A streamed upstream answer: the head, then the body's chunks as they arrive.

    ``body`` holds the whole body of a refusal (status >= 400), whose ``chunks`` are empty.
    ``aclose`` releases the connection; it is safe to call more than once.
    """

    status: int
    content_type: str
    body: bytes
    chunks: Chunks
    retry_after: float | None = None
    # True once the whole body has arrived: the chunk just read was the last one
    at_eof: Callable[[], bool] = lambda: False

    async def aclose(self) -> None:
        await self.chunks.aclose()


Timeouts = tuple[float, float, float, float]  # connect, first byte, idle gap, total


def timeouts(spec: float | Timeouts) -> Timeouts:
    """A provider's timeouts; a bare ``timeout_s`` gives SPEC §6's defaults."""
    if isinstance(spec, tuple):
        return spec
    return (min(10.0, spec), spec, spec, spec)


def retry_after(status: int, value: str) -> float | None:
    """A refusal's ``Retry-After`` in seconds (delta-seconds or an HTTP date)."""
    if status < 400:
        return None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
