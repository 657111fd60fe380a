"""Writing settled charges: usage entry, ledger row and balance moves in one transaction.

Idempotent by ``query_id``: the usage entry's primary key and the ledger's unique ``query_id``
make a second write of the same charge a no-op, so a retried batch never charges twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db

USAGE = db.UsageEntry.__table__
LEDGER = db.LedgerEntry.__table__


@dataclass(frozen=True, slots=True)
class Charge:
    query_id: str
    account_id: int
    key_id: int
    key_name: str
    bot: str
    created_at: int  # Unix ms
    cost_usd: str
    cost_points: int
    breakdown: dict[str, Any]


async def write_batch(session: AsyncSession, charges: list[Charge]) -> list[Charge]:
    """Write the charges not yet written; returns those this call wrote (the caller commits)."""
    ids = [c.query_id for c in charges]
    done = set(
        (
            await session.scalars(
                select(db.UsageEntry.query_id).where(db.UsageEntry.query_id.in_(ids))
            )
        ).all()
    )
    fresh = [c for c in charges if c.query_id not in done]
    conn = await session.connection()  # Core, not the ORM: no per-row ORM bookkeeping
    now = datetime.now(UTC)
    per_account: dict[int, int] = defaultdict(int)
    per_key: dict[int, int] = defaultdict(int)
    if fresh:  # one executemany per table
        await conn.execute(
            USAGE.insert(),
            [
                {
                    "query_id": c.query_id,
                    "account_id": c.account_id,
                    "api_key_id": c.key_id,
                    "api_key_name": c.key_name,
                    "bot": c.bot,
                    "created_at": c.created_at,
                    "cost_usd": c.cost_usd,
                    "cost_points": c.cost_points,
                    "cost_breakdown": c.breakdown,
                    "usage_type": "API",
                }
                for c in fresh
            ],
        )
        await conn.execute(
            LEDGER.insert(),
            [
                {
                    "account_id": c.account_id,
                    "kind": "charge",
                    "points": -c.cost_points,
                    "query_id": c.query_id,
                    "created_at": now,
                }
                for c in fresh
            ],
        )
    for c in fresh:
        per_account[c.account_id] += c.cost_points
        per_key[c.key_id] += c.cost_points
    for account_id, points in per_account.items():
        await session.execute(
            update(db.Account)
            .where(db.Account.id == account_id)
            .values(point_balance=db.Account.point_balance - points)
        )
    for key_id, points in per_key.items():
        await session.execute(
            update(db.ApiKey)
            .where(db.ApiKey.id == key_id)
            .values(spent_points=db.ApiKey.spent_points + points)
        )
    return fresh


async def read_figures(session: AsyncSession) -> tuple[dict[int, int], dict[int, int]]:
    balances = dict((await session.execute(select(db.Account.id, db.Account.point_balance))).all())
    spends = dict((await session.execute(select(db.ApiKey.id, db.ApiKey.spent_points))).all())
    return balances, spends  # type: ignore[return-value]
