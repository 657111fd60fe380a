"""Cross-worker cache invalidation through version counters in the database.

A write that changes keys or the catalog bumps a named counter in ``cluster_state`` inside its
own transaction. Each worker polls the counters once a second (one tiny query, off the request
path) and drops the matching cache when one moved. With Redis configured, a publish makes the
change visible sooner; the poll remains the safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.db import models as db

log = logging.getLogger("patchbay.cluster")

KEYS = "keys"
CATALOG = "catalog"
BALANCES = "balances"


async def bump(session: AsyncSession, name: str) -> None:
    """Advance counter ``name`` in the caller's transaction (the caller commits)."""
    result = await session.execute(
        update(db.ClusterState)
        .where(db.ClusterState.name == name)
        .values(version=db.ClusterState.version + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            insert(db.ClusterState).values(name=name, version=1).on_conflict_do_nothing()
        )


class VersionWatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: dict[str, Callable[[], Awaitable[None]]],
        period_s: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._handlers = handlers
        self._period_s = period_s
        self._seen: dict[str, int] = {}

    async def read(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = (await session.execute(select(db.ClusterState))).scalars().all()
        return {row.name: row.version for row in rows}

    async def prime(self) -> None:
        self._seen = await self.read()

    async def check(self) -> None:
        versions = await self.read()
        for name, handler in self._handlers.items():
            if versions.get(name, 0) != self._seen.get(name, 0):
                self._seen[name] = versions.get(name, 0)
                await handler()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            try:
                await self.check()
            except Exception:  # keep watching through a passing database fault
                log.warning("could not read cluster versions", exc_info=True)
