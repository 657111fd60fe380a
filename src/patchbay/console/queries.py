"""The console's reads of the usage history: points by day and by model, a filtered page of
entries, and (for admins) usage by account. All grouping happens in the database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db

DAY_MS = 86_400_000
U = db.UsageEntry


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    points: int
    calls: int


def since_ms(days: int) -> int:
    return int((time.time() - days * 86400) * 1000)


def _scoped(query: Any, account_id: int | None, since: int) -> Any:
    query = query.where(U.created_at >= since)
    return query.where(U.account_id == account_id) if account_id is not None else query


async def by_day(session: AsyncSession, account_id: int | None, days: int) -> list[Bucket]:
    """One bucket per UTC day of the last ``days`` days, empty days included (oldest first)."""
    day = (U.created_at // DAY_MS).label("day")
    query = _scoped(
        select(day, func.sum(U.cost_points), func.count()), account_id, since_ms(days)
    ).group_by(day)
    found = {int(d): (int(p or 0), int(c)) for d, p, c in (await session.execute(query)).all()}
    today = int(time.time() * 1000) // DAY_MS
    out = []
    for index in range(today - days + 1, today + 1):
        points, calls = found.get(index, (0, 0))
        label = datetime.fromtimestamp(index * 86400, UTC).strftime("%Y-%m-%d")
        out.append(Bucket(label, points, calls))
    return out


async def by_model(session: AsyncSession, account_id: int | None, days: int) -> list[Bucket]:
    query = _scoped(
        select(U.bot, func.sum(U.cost_points), func.count()), account_id, since_ms(days)
    ).group_by(U.bot)
    rows = [Bucket(b, int(p or 0), int(c)) for b, p, c in (await session.execute(query)).all()]
    return sorted(rows, key=lambda b: (-b.points, -b.calls, b.label))


async def by_account(session: AsyncSession, days: int) -> list[tuple[int, str, int, int]]:
    query = (
        select(db.Account.id, db.Account.name, func.sum(U.cost_points), func.count())
        .join(db.Account, db.Account.id == U.account_id)
        .where(U.created_at >= since_ms(days))
        .group_by(db.Account.id, db.Account.name)
    )
    rows = [(i, n, int(p or 0), int(c)) for i, n, p, c in (await session.execute(query)).all()]
    return sorted(rows, key=lambda r: (-r[2], -r[3], r[1]))


async def history(
    session: AsyncSession,
    account_id: int,
    *,
    model: str | None,
    key_name: str | None,
    before: str | None,
    limit: int,
    retention_days: int,
) -> tuple[list[db.UsageEntry], bool]:
    """Newest first (query ids grow with time), keyset-paged by ``before``."""
    query = select(U).where(U.account_id == account_id, U.created_at >= since_ms(retention_days))
    if model:
        query = query.where(U.bot == model)
    if key_name:
        query = query.where(U.api_key_name == key_name)
    if before:
        query = query.where(U.query_id < before)
    rows = list(await session.scalars(query.order_by(U.query_id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


async def filter_choices(
    session: AsyncSession, account_id: int, retention_days: int
) -> tuple[list[str], list[str]]:
    """The models and key names that appear in the account's history (for the filters)."""
    since = since_ms(retention_days)
    scoped = (U.account_id == account_id, U.created_at >= since)
    models = await session.scalars(select(U.bot).where(*scoped).distinct())
    keys = await session.scalars(select(U.api_key_name).where(*scoped).distinct())
    return sorted(models.all()), sorted(k for k in keys.all() if k)
