"""Balance changes. Every change is a ledger row, and the account's balance moves in the same
transaction, so the balance always equals the ledger's sum."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db


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
    session.add(
        db.LedgerEntry(
            account_id=account_id,
            kind=kind,
            points=points,
            query_id=query_id,
            note=note,
            created_at=datetime.now(UTC),
        )
    )
    await session.execute(
        update(db.Account)
        .where(db.Account.id == account_id)
        .values(point_balance=db.Account.point_balance + points)
    )
