"""Asyncio clients for what wrk cannot measure: time to first byte on streams, and many
concurrent slow streams (for memory)."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp


async def _ttfb(url: str, body: bytes, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.content.readany()
                samples.append(time.perf_counter() - started)
                await response.read()
    return samples


def ttfb_ms(url: str, body: bytes, headers: dict[str, str], count: int = 200) -> float:
    """Median time to the first body byte of a streamed answer, one request at a time."""
    samples = asyncio.run(_ttfb(url, body, headers, count))
    return statistics.median(samples[5:] or samples) * 1000


async def _streams(url: str, body: bytes, headers: dict[str, str], count: int, end: bytes) -> int:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> int:
            async with session.post(url, data=body, headers=headers) as response:
                data = await response.read()
                return 1 if response.status == 200 and end in data else 0

        results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    return sum(r for r in results if isinstance(r, int))


def open_streams(
    url: str, body: bytes, headers: dict[str, str], count: int, end: bytes = b"[DONE]"
) -> int:
    """Run ``count`` concurrent streams to completion; returns how many finished cleanly (with
    ``end`` in their body: Chat's, by default)."""
    return asyncio.run(_streams(url, body, headers, count, end))
