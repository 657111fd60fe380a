"""Holds shared by instances through PostgreSQL, for deployments without Redis
(``[billing] shared_book = "database"``).

Each priced call's hold is one row of ``book_holds``, inserted by one atomic statement that
locks the account's row and admits only while ``point_balance - live holds > 0`` (and, for a
capped key, ``spent_points + its live holds < max_points``). The settlement batch that writes a
call's charge deletes its hold in the same transaction, so a charge is always counted — as a
hold before it is written, as a balance move after — and never twice. A call charged nothing
drops its hold at once. Holds expire after ``HOLD_TTL_S`` (an instance that died with calls in
flight), and are swept then.

It costs one database round trip per priced call on the request path: with Redis configured the
shared book lives there instead (``metering.shared_book``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.metering.shared_book import Loader

HOLD_TTL_S = 3600

# Admission is two statements in one transaction: the first takes the account row's lock
# (and waits for an admission holding it), the second — a new snapshot under READ COMMITTED —
# then sees every hold committed before it; in one statement the sums would come from a
# snapshot older than the lock.
LOCK = text("SELECT 1 FROM accounts WHERE id = :account FOR UPDATE")
ADMIT = text(
    """
    WITH acct AS (SELECT point_balance FROM accounts WHERE id = :account),
    held AS (
        SELECT COALESCE(SUM(points), 0) AS n FROM book_holds
        WHERE account_id = :account AND expires_at > now()
    ),
    spent AS (SELECT COALESCE(MAX(spent_points), 0) AS n FROM api_keys WHERE id = :key),
    kheld AS (
        SELECT COALESCE(SUM(points), 0) AS n FROM book_holds
        WHERE key_id = :key AND expires_at > now()
    )
    INSERT INTO book_holds (query_id, account_id, key_id, points, expires_at)
    SELECT :query_id, :account, :key, :hold, now() + make_interval(secs => :ttl)
    FROM acct, held, spent, kheld
    WHERE acct.point_balance - held.n > 0 AND (:cap < 0 OR spent.n + kheld.n < :cap)
    RETURNING query_id
    """
)
WHY = text(
    """
    SELECT a.point_balance - COALESCE((SELECT SUM(points) FROM book_holds
                                        WHERE account_id = a.id AND expires_at > now()), 0)
    FROM accounts a WHERE a.id = :account
    """
)
RELEASE = text("DELETE FROM book_holds WHERE query_id = :query_id")
SWEEP = text("DELETE FROM book_holds WHERE expires_at <= now()")


class DatabaseBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.releases_with_charges = True  # the settlement plan deletes written calls' holds

    async def admit(
        self,
        account_id: int,
        key_id: int,
        max_points: int | None,
        hold: int,
        load: Loader,
        query_id: str = "",
    ) -> str | None:
        values = {
            "account": account_id,
            "key": key_id,
            "hold": hold,
            "query_id": query_id,
            "ttl": HOLD_TTL_S,
            "cap": -1 if max_points is None else max_points,
        }
        async with self.sessions() as session, session.begin():
            await session.execute(LOCK, {"account": account_id})
            taken = (await session.execute(ADMIT, values)).first()
            if taken is not None:
                return None
            free = await session.scalar(WHY, {"account": account_id})
        if free is None or free <= 0:
            return "the account's point balance is exhausted"
        return "this API key has reached its max_points spend cap"

    async def settle(
        self,
        account_id: int,
        key_id: int,
        capped: bool,
        hold: int,
        charge: int,
        query_id: str = "",
    ) -> None:
        """Only a call charged nothing lets go here; a charge's batch deletes its hold."""
        if charge:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(RELEASE, {"query_id": query_id})

    async def credit(self, account_id: int, points: int) -> None:
        return None  # the database's own balance is what admission reads

    async def sweep(self) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(SWEEP)
