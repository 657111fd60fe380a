"""Balance changes. Every change is a ledger row, and the account's balance moves in the same
transaction, so the balance always equals the ledger's sum. The statements are the ones the
settlement writers run for charges (``db.ledger_sql``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import ledger_sql


async def post_entry(
    session: AsyncSession,
    account_id: int,
    points: int,
    *,
    kind: str,
    note: str | None = None,
    query_id: str | None = None,
) -> None:
    """Add a ledger row and move the balance by ``points`` (the caller commits)."""
    conn = await session.connection()
    plan = ledger_sql.ledger_plan(conn.dialect, [(account_id, kind, points, query_id, note)])
    await ledger_sql.execute(conn, plan)
