"""Builds the limiter the settings ask for and says at start how limits are enforced."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from patchbay.limits.base import Limiter
from patchbay.limits.memory import MemoryLimiter
from patchbay.limits.redis import RedisLimiter
from patchbay.limits.resilient import ResilientLimiter
from patchbay.settings import Settings

log = logging.getLogger("patchbay.limits")
REDIS_TIMEOUT_S = 0.25


def redis_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        retry_on_timeout=False,
        health_check_interval=0,
    )


def build_limiter(
    settings: Settings, client: aioredis.Redis | None, deployment: str = "default"
) -> Limiter:
    """``deployment`` namespaces the Redis keys: instances sharing a database share it."""
    fallback = MemoryLimiter(divisor=settings.workers)
    if client is None:
        if settings.workers > 1:
            log.warning(
                "rate limits without Redis: each of the %d workers enforces 1/%d of "
                "every key's rpm and tpm (set redis_url for exact shared limits)",
                settings.workers,
                settings.workers,
            )
        return fallback
    mode = "in-process" if settings.redis_fail_mode == "open" else "refusal (503)"
    log.info("rate limits shared through Redis; if it fails: %s", mode)
    return ResilientLimiter(
        RedisLimiter(client, prefix=f"patchbay:{deployment}:rl"),
        fallback,
        fail_open=settings.redis_fail_mode == "open",
    )
