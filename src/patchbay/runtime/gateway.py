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

from patchbay.accounting import bpe
from patchbay.accounts import usage_history
from patchbay.accounts.keystore import KeyStore
from patchbay.catalog.listing import ListingCache
from patchbay.catalog.loader import Catalog, load_catalog
from patchbay.db import versions
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.limits.base import Limiter
from patchbay.limits.factory import build_limiter, redis_client
from patchbay.metering.database_book import DatabaseBook
from patchbay.metering.ledger_meter import LedgerMeter
from patchbay.metering.shared_book import Book, SharedBook, shared_prefix
from patchbay.metering.sqlite_writer import SQLiteWriter
from patchbay.metering.writers import SQLAlchemyWriter, Writer
from patchbay.proxy.conversations import Conversations
from patchbay.proxy.endpoint_calls import EndpointCalls
from patchbay.proxy.pipeline import Pipeline
from patchbay.proxy.videos import Videos
from patchbay.routing.health import Breakers, Policy
from patchbay.routing.shared import SYNC_PERIOD_S, HealthSync
from patchbay.security.crypto import SecretBox, load_secret_box
from patchbay.settings import ConfigError, Settings
from patchbay.upstream.client import UpstreamClient

log = logging.getLogger("patchbay")


def _book(
    settings: Settings,
    redis: aioredis.Redis | None,
    sessions: async_sessionmaker[AsyncSession],
    fingerprint: str,
    dialect: str,
) -> Book | None:
    """The book instances share for admission (``[billing] shared_book``)."""
    choice = settings.shared_book
    if choice == "auto":
        choice = "redis" if redis is not None else "off"
    if choice == "redis":
        if redis is None:
            raise ConfigError('shared_book = "redis" needs redis_url')
        return SharedBook(redis, shared_prefix(fingerprint))
    if choice == "database":
        if dialect != "postgresql":
            raise ConfigError('shared_book = "database" needs PostgreSQL (database_url)')
        return DatabaseBook(sessions)
    return None


def _policy(settings: Settings) -> Policy:
    return Policy(
        consecutive=settings.breaker_failures,
        base_cooldown_s=settings.breaker_cooldown_s,
        max_cooldown_s=max(settings.breaker_max_cooldown_s, settings.breaker_cooldown_s),
    )


RETENTION_PERIOD_S = 3600
VIDEO_POLL_PERIOD_S = 2.0


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    keys: KeyStore
    client: UpstreamClient
    meter: LedgerMeter
    limiter: Limiter
    pipeline: Pipeline
    conversations: Conversations
    redis: aioredis.Redis | None = None
    listings: ListingCache = field(default_factory=ListingCache)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    watcher: versions.VersionWatcher | None = None
    endpoints: EndpointCalls | None = None  # the non-chat model endpoints' call path
    videos: Videos | None = None  # video tasks (``/v1/videos``)

    @property
    def catalog(self) -> Catalog:
        """The catalog in memory now (replaced whole on every reload)."""
        return self.pipeline.catalog

    @classmethod
    async def start(cls, settings: Settings) -> Gateway:
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        client = UpstreamClient(allow_private=settings.allow_private_upstreams)
        box = load_secret_box(settings.secret_key, settings.data_dir)
        redis = redis_client(settings.redis_url) if settings.redis_url else None
        book = _book(settings, redis, sessions, box.fingerprint, engine.dialect.name)
        writer: Writer = SQLAlchemyWriter(sessions, release_holds=isinstance(book, DatabaseBook))
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            writer = SQLiteWriter(str(engine.url.database), engine.dialect)
        meter = LedgerMeter(
            sessions,
            settings.points_per_usd,
            writer=writer,
            shared=book,
            hold_output_tokens=settings.hold_output_tokens,
        )
        limiter = build_limiter(settings, redis, box.fingerprint)
        gateway = cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            box=box,
            keys=KeyStore(sessions),
            client=client,
            meter=meter,
            limiter=limiter,
            pipeline=Pipeline(client, meter, limiter, health=Breakers(_policy(settings))),
            conversations=Conversations(sessions),
            redis=redis,
        )
        gateway.endpoints = EndpointCalls(gateway.pipeline, client)
        gateway.videos = Videos(sessions, gateway.endpoints, settings.points_per_usd)
        # The versions are read before the state they guard: a write landing while the catalog
        # and balances load is then seen as a change at the first check (read after, it was
        # missed: another worker's new account stayed unknown here until the 5-s reload).
        gateway.watcher = versions.VersionWatcher(
            sessions,
            {
                versions.KEYS: gateway.reload_keys,
                versions.CATALOG: gateway.reload_catalog,
                versions.BALANCES: meter.reload,
            },
        )
        await gateway.watcher.prime()
        await gateway.reload_catalog()
        await asyncio.to_thread(bpe.encoding)  # the tokenizer, loaded before the first call
        await meter.start()
        gateway.tasks.append(asyncio.create_task(gateway.watcher.run()))
        gateway.tasks.append(asyncio.create_task(gateway._flush_loop()))
        gateway.tasks.append(asyncio.create_task(gateway._retention_loop()))
        gateway.tasks.append(asyncio.create_task(gateway._video_loop()))
        if gateway.redis is not None:
            gateway.tasks.append(asyncio.create_task(gateway._listen()))
            sync = HealthSync(gateway.redis, f"patchbay:{box.fingerprint}", gateway.pipeline.health)
            gateway.tasks.append(asyncio.create_task(gateway._share_health(sync)))
        return gateway

    async def _share_health(self, sync: HealthSync) -> None:
        while True:
            await asyncio.sleep(SYNC_PERIOD_S)
            await sync.sync()

    async def reload_catalog(self) -> None:
        async with self.sessions() as session:
            self.pipeline.catalog = await load_catalog(session, self.box)

    async def reload_keys(self) -> None:
        self.keys.invalidate()

    @property
    def channel(self) -> str:
        return f"patchbay:{self.box.fingerprint}:cluster"

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

    async def _video_loop(self) -> None:
        """Refresh running video tasks (any instance may; each completion is charged once)."""
        while True:
            await asyncio.sleep(VIDEO_POLL_PERIOD_S)
            try:
                if self.videos is not None:
                    await self.videos.poll()
            except Exception:
                log.warning("video task polling failed", exc_info=True)

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
