"""Usage history reads (keyset pagination on ``(account_id, query_id)``) and retention."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db
from patchbay.errors import InvalidRequest


def entry_json(row: db.UsageEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "query_id": row.query_id,
        "bot": row.bot,
        "created_at": row.created_at,
        "cost_usd": row.cost_usd,  # rendered as a JSON number with these exact digits
        "cost_points": row.cost_points,
        "cost_breakdown": row.cost_breakdown,
        "usage_type": row.usage_type,
        "api_key_name": row.api_key_name,
    }
    for name in ("chat_name", "canvas_app_name"):
        value = getattr(row, name)
        if value is not None:
            out[name] = value
    return out


async def page(
    session: AsyncSession,
    account_id: int,
    *,
    limit: int,
    starting_after: str | None,
    retention_days: int,
) -> tuple[list[db.UsageEntry], bool]:
    oldest = int((time.time() - retention_days * 86400) * 1000)
    query = select(db.UsageEntry).where(
        db.UsageEntry.account_id == account_id, db.UsageEntry.created_at >= oldest
    )
    if starting_after is not None:
        known = await session.scalar(
            select(db.UsageEntry.query_id).where(
                db.UsageEntry.account_id == account_id, db.UsageEntry.query_id == starting_after
            )
        )
        if known is None:
            raise InvalidRequest("starting_after is not a known query_id", param="starting_after")
        query = query.where(db.UsageEntry.query_id < starting_after)
    rows = list(
        await session.scalars(query.order_by(db.UsageEntry.query_id.desc()).limit(limit + 1))
    )
    return rows[:limit], len(rows) > limit


async def purge(session: AsyncSession, retention_days: int) -> int:
    """Delete usage entries past retention; ledger rows (and so balances) are untouched."""
    oldest = int((time.time() - retention_days * 86400) * 1000)
    result = await session.execute(delete(db.UsageEntry).where(db.UsageEntry.created_at < oldest))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
