"""Route health shared by every worker and instance through Redis (when configured).

Each process keeps its own ``Breakers``; twice a second it writes the routes whose state
changed into one Redis hash and reads the hash back, taking the views that are newer than its
own (``Breakers.merge``). A route opened by one worker is skipped by all within about half a
second; a failing Redis leaves each process deciding alone.
"""

from __future__ import annotations

import logging

import orjson
import redis.asyncio as aioredis

from patchbay.routing.health import Breakers

log = logging.getLogger("patchbay.routing")
SYNC_PERIOD_S = 0.5
TTL_S = 24 * 3600  # forgotten a day after the last change


class HealthSync:
    def __init__(self, client: aioredis.Redis, prefix: str, breakers: Breakers) -> None:
        self.client = client
        self.key = f"{prefix}:routes"
        self.breakers = breakers
        self._failing = False

    async def sync(self) -> None:
        changed = self.breakers.drain()
        try:
            if changed:
                mapping = {key: orjson.dumps(view) for key, view in changed.items()}
                await self.client.hset(self.key, mapping=mapping)  # type: ignore[arg-type]
                await self.client.expire(self.key, TTL_S)
            raw = await self.client.hgetall(self.key)
        except Exception:
            if not self._failing:
                log.warning("route health cannot be shared through Redis; deciding locally")
            self._failing = True
            self.breakers.changed.update(changed)  # try again next time
            return
        self._failing = False
        views = {}
        for key, value in raw.items():
            try:
                views[key.decode() if isinstance(key, bytes) else str(key)] = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
        self.breakers.merge(views)
