"""Settled charges and the statements that write them (``db.ledger_sql``).

A batch of charges is written in one transaction: its usage entries, one ledger row each, the
accounts' balance moves and the keys' spends. Idempotent by ``query_id``: the usage entry's
primary key and the ledger's unique ``query_id`` make a second write of the same charge fail
the whole batch (rolled back), never charge twice; ``written_ids`` lets a retry skip the
charges an earlier, seemingly failed, attempt did commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import ledger_sql
from patchbay.db import models as db
from patchbay.db.ledger_sql import Plan


@dataclass(slots=True)  # not frozen: built on every call, and frozen __init__ is slower
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


def totals(charges: list[Charge]) -> tuple[dict[int, int], dict[int, int]]:
    """Points charged per account and per key."""
    per_account: dict[int, int] = defaultdict(int)
    per_key: dict[int, int] = defaultdict(int)
    for c in charges:
        per_account[c.account_id] += c.cost_points
        per_key[c.key_id] += c.cost_points
    return per_account, per_key


def charge_plan(dialect: Dialect, charges: list[Charge], release_holds: bool = False) -> Plan:
    """Every statement of one batch, in the order they run; ``release_holds`` also deletes the
    written calls' holds from ``book_holds`` (the database-shared book)."""
    as_json = ledger_sql.json_value(dialect)
    usage = [
        (
            c.query_id,
            c.account_id,
            c.key_id,
            c.key_name,
            c.bot,
            c.created_at,
            c.cost_usd,
            c.cost_points,
            as_json(c.breakdown),
            "API",
        )
        for c in charges
    ]
    _, per_key = totals(charges)
    entries = ((c.account_id, "charge", -c.cost_points, c.query_id, None) for c in charges)
    plan = [
        *ledger_sql.inserts(dialect, ledger_sql.USAGE.name, ledger_sql.USAGE_COLUMNS, usage),
        *ledger_sql.ledger_plan(dialect, entries),
        *ledger_sql.moves(dialect, "api_keys", "spent_points", per_key),
    ]
    if release_holds:
        (mark,) = ledger_sql.marks(dialect.paramstyle, 1)
        plan.append(
            (f"DELETE FROM book_holds WHERE query_id = {mark}", [(c.query_id,) for c in charges])
        )
    return plan


def written_sql(dialect: Dialect, count: int) -> str:
    marks = ", ".join(ledger_sql.marks(dialect.paramstyle, count))
    return f"SELECT query_id FROM usage_entries WHERE query_id IN ({marks})"


async def read_one(session: AsyncSession, account_id: int, key_id: int) -> tuple[int, int]:
    """One account's stored balance and one key's stored spend."""
    balance = await session.scalar(
        select(db.Account.point_balance).where(db.Account.id == account_id)
    )
    spent = await session.scalar(select(db.ApiKey.spent_points).where(db.ApiKey.id == key_id))
    return int(balance or 0), int(spent or 0)


async def read_figures(session: AsyncSession) -> tuple[dict[int, int], dict[int, int]]:
    balances = dict((await session.execute(select(db.Account.id, db.Account.point_balance))).all())
    spends = dict((await session.execute(select(db.ApiKey.id, db.ApiKey.spent_points))).all())
    return balances, spends
