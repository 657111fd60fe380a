"""The gateway's runtime: every long-lived resource, created by the app lifespan.

Nothing here is a module global: ``create_app(settings)`` builds one ``Gateway`` and the
endpoints reach it through ``request.app.state.gateway``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from patchbay.catalog.listing import ListingCache
from patchbay.catalog.loader import Catalog, load_catalog
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.limits.base import Limiter
from patchbay.limits.factory import build_limiter, redis_client
from patchbay.limits.memory import MemoryLimiter
from patchbay.security.crypto import SecretBox, load_secret_box
from patchbay.services import cluster, usage_history
from patchbay.services.calls import Call
from patchbay.services.keystore import KeyStore
from patchbay.services.metering import LedgerMeter
from patchbay.services.proxy import Proxy
from patchbay.services.sqlite_writer import SQLiteSettlement
from patchbay.settings import Settings
from patchbay.upstream.client import UpstreamClient

log = logging.getLogger("patchbay")
RETENTION_PERIOD_S = 3600


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    keys: KeyStore
    client: UpstreamClient
    meter: LedgerMeter
    proxy: Proxy
    limiter: Limiter = field(default_factory=MemoryLimiter)
    redis: aioredis.Redis | None = None
    catalog: Catalog = field(default_factory=Catalog)
    listings: ListingCache = field(default_factory=ListingCache)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    watcher: cluster.VersionWatcher | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Gateway:
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        client = UpstreamClient(allow_private=settings.allow_private_upstreams)
        writer = None
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            writer = SQLiteSettlement(str(engine.url.database), engine.dialect)
        meter = LedgerMeter(sessions, settings.points_per_usd, writer=writer)
        gateway = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            box=load_secret_box(settings.secret_key, settings.data_dir),
            keys=KeyStore(sessions),
            client=client,
            meter=meter,
            proxy=Proxy(client, meter),
        )
        if settings.redis_url:
            gateway.redis = redis_client(settings.redis_url)
        gateway.limiter = build_limiter(settings, gateway.redis, gateway.box.fingerprint)
        meter.on_settled = gateway._correct_tokens
        await gateway.reload_catalog()
        await meter.start()
        gateway.watcher = cluster.VersionWatcher(
            sessions,
            {
                cluster.KEYS: gateway.reload_keys,
                cluster.CATALOG: gateway.reload_catalog,
                cluster.BALANCES: meter.reload,
            },
        )
        await gateway.watcher.prime()
        gateway.tasks.append(asyncio.create_task(gateway.watcher.run()))
        gateway.tasks.append(asyncio.create_task(gateway._flush_loop()))
        gateway.tasks.append(asyncio.create_task(gateway._retention_loop()))
        if gateway.redis is not None:
            gateway.tasks.append(asyncio.create_task(gateway._listen()))
        return gateway

    async def reload_catalog(self) -> None:
        async with self.sessions() as session:
            self.catalog = await load_catalog(session, self.box)

    async def reload_keys(self) -> None:
        self.keys.invalidate()

    @property
    def channel(self) -> str:
        return f"patchbay:{self.box.fingerprint}:cluster"

    def _correct_tokens(self, call: Call) -> None:
        """Replace a call's token estimate in its tpm window by what it really used."""
        if call.principal.tpm is None or call.token_estimate is None:
            return
        used = call.usage.total_tokens if call.usage else call.prompt_estimate
        delta = used - call.token_estimate
        if delta:
            task = asyncio.create_task(
                self.limiter.adjust_tokens(str(call.principal.key_id), delta=delta)
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def announce(self) -> None:
        """Tell the other workers and instances to refresh now (the poll is the safety net)."""
        if self.redis is not None:
            try:
                await self.redis.publish(self.channel, "refresh")
            except Exception:
                log.warning("could not publish a cache refresh to Redis")

    async def _listen(self) -> None:
        assert self.redis is not None and self.watcher is not None
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self.watcher.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1)

    async def _retention_loop(self) -> None:
        while True:
            try:
                async with self.sessions() as session, session.begin():
                    removed = await usage_history.purge(session, self.settings.usage_retention_days)
                if removed:
                    log.info("removed %d usage entries past retention", removed)
            except Exception:
                log.warning("usage retention pass failed", exc_info=True)
            await asyncio.sleep(RETENTION_PERIOD_S)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(5)
            try:
                await self.keys.flush_last_used()
            except Exception:
                log.warning("could not record key usage times", exc_info=True)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.keys.flush_last_used()
        await self.meter.aclose()
        await self.limiter.aclose()
        await self.client.aclose()
        await self.engine.dispose()
