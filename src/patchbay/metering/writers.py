"""Where settled batches are written: one interface, two implementations sharing one plan.

``SQLAlchemyWriter`` runs the plan on an engine connection (PostgreSQL through asyncpg, which
pipelines each ``executemany``). ``SQLiteWriter`` (``metering.sqlite_writer``) runs the same
plan in a dedicated thread on its own sqlite3 connection.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.db import ledger_sql
from patchbay.metering.plan import Charge, charge_plan, written_sql

CHECK_CHUNK = 500  # ids per "already written?" query


class Writer(Protocol):
    async def write(self, charges: list[Charge], *, check_written: bool) -> int:
        """Write the charges in one transaction (those not stored yet, when checking);
        returns how many were written."""

    async def aclose(self) -> None: ...


async def write_batch(
    session: AsyncSession,
    charges: list[Charge],
    *,
    check_written: bool = True,
    release_holds: bool = False,
) -> list[Charge]:
    """Write the charges not yet written, in the session's transaction (the caller commits);
    returns those this call wrote.

    ``check_written=False`` skips looking for charges already stored: right for a first
    attempt, whose charges cannot be there (a duplicate would still fail on the unique keys and
    roll the whole batch back, never charge twice).
    """
    conn = await session.connection()
    fresh = charges
    if check_written:
        done: set[str] = set()
        ids = [c.query_id for c in charges]
        for start in range(0, len(ids), CHECK_CHUNK):
            part = ids[start : start + CHECK_CHUNK]
            result = await conn.exec_driver_sql(written_sql(conn.dialect, len(part)), tuple(part))
            done.update(row[0] for row in result)
        fresh = [c for c in charges if c.query_id not in done]
    if fresh:
        await ledger_sql.execute(conn, charge_plan(conn.dialect, fresh, release_holds))
    return fresh


class SQLAlchemyWriter:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], release_holds: bool = False
    ) -> None:
        self.sessions = sessions
        self.release_holds = release_holds  # the database-shared book: holds go with charges

    async def write(self, charges: list[Charge], *, check_written: bool) -> int:
        async with self.sessions() as session, session.begin():
            written = await write_batch(
                session, charges, check_written=check_written, release_holds=self.release_holds
            )
            return len(written)

    async def aclose(self) -> None:
        return None
