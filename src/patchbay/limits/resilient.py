"""Redis with a fallback: when Redis fails or is slow, decide in-process (fail-open, the
default) or refuse with 503 (fail-closed). One warning when an outage starts, one notice when
Redis is back; after a failure Redis is not tried again for ``retry_after_s``. Every Redis call
is bounded by the client's socket timeouts, so the request path never hangs on it."""

from __future__ import annotations

import logging
import time

from patchbay.errors import Unavailable
from patchbay.limits.base import Decision
from patchbay.limits.memory import MemoryLimiter
from patchbay.limits.redis import RedisLimiter

log = logging.getLogger("patchbay.limits")


class ResilientLimiter:
    def __init__(
        self,
        primary: RedisLimiter,
        fallback: MemoryLimiter,
        *,
        fail_open: bool = True,
        retry_after_s: float = 1.0,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.fail_open = fail_open
        self.retry_after_s = retry_after_s
        self.healthy = True
        self._down_until = 0.0

    def _failed(self, exc: Exception) -> None:
        if self.healthy:
            mode = "deciding in-process" if self.fail_open else "refusing requests"
            log.warning(
                "Redis unreachable (%s); rate limits fall back to %s", type(exc).__name__, mode
            )
        self.healthy = False
        self._down_until = time.monotonic() + self.retry_after_s

    def _recovered(self) -> None:
        if not self.healthy:
            log.info("Redis is reachable again; shared rate limits resumed")
        self.healthy = True

    def _degraded(self) -> Unavailable:
        return Unavailable("the rate limiter's store is unreachable; try again shortly")

    async def acquire(self, key: str, *, rpm: int, tpm: int | None, tokens: int) -> Decision:
        if time.monotonic() >= self._down_until:
            try:
                decision = await self.primary.acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
            except Exception as exc:  # any Redis/transport fault
                self._failed(exc)
            else:
                self._recovered()
                return decision
        if not self.fail_open:
            raise self._degraded()
        return await self.fallback.acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)

    async def adjust_tokens(self, key: str, *, delta: int) -> None:
        if self.healthy:
            try:
                await self.primary.adjust_tokens(key, delta=delta)
                return
            except Exception as exc:
                self._failed(exc)
        await self.fallback.adjust_tokens(key, delta=delta)

    async def ping(self) -> bool:
        try:
            await self.primary.client.ping()
        except Exception as exc:
            self._failed(exc)
            return False
        self._recovered()
        return True

    async def aclose(self) -> None:
        await self.primary.aclose()
