"""Writing settled charges: usage entry, ledger row and balance moves in one transaction.

Idempotent by ``query_id``: the usage entry's primary key and the ledger's unique ``query_id``
make a second write of the same charge a no-op, so a retried batch never charges twice.

The rows go to the driver as plain tuples: SQLAlchemy's per-row parameter
handling cost about four times what SQLite itself spends on a row, and at thousands of calls a
second it was the gateway's largest single cost. Values that need a dialect's conversion (the
JSON breakdown, the ledger timestamp) go through that column type's own bind processor, so the
stored form is exactly what the ORM reads back, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from patchbay.db import models as db

USAGE = db.UsageEntry.__table__
LEDGER = db.LedgerEntry.__table__
USAGE_COLUMNS = (
    "query_id",
    "account_id",
    "api_key_id",
    "api_key_name",
    "bot",
    "created_at",
    "cost_usd",
    "cost_points",
    "cost_breakdown",
    "usage_type",
)
LEDGER_COLUMNS = ("account_id", "kind", "points", "query_id", "created_at")


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


def _marks(style: str, count: int, start: int = 0) -> str:
    if style == "qmark":
        return ", ".join(["?"] * count)
    if style == "numeric_dollar":
        return ", ".join(f"${start + i + 1}" for i in range(count))
    if style == "numeric":
        return ", ".join(f":{start + i + 1}" for i in range(count))
    if style in ("format", "pyformat"):
        return ", ".join(["%s"] * count)
    raise RuntimeError(f"unsupported DB-API parameter style: {style}")


@functools.lru_cache(maxsize=64)
def insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """A plain ``INSERT`` of ``rows`` rows in the driver's own parameter style."""
    width = len(columns)
    values = ", ".join(f"({_marks(dialect.paramstyle, width, row * width)})" for row in range(rows))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"


# Rows per multi-row statement: a few fixed sizes, so each connection caches a handful of
# prepared statements (every distinct row count would be another one, and one with thousands
# of parameters is large) and a batch of any size takes few statements.
SQLITE_CHUNKS = (256, 32, 4, 1)


def _chunks(count: int, width: int) -> list[int]:
    """``count`` rows as a list of statement sizes, largest first."""
    sizes: list[int] = []
    limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999  # bound variables
    for size in SQLITE_CHUNKS:
        if size * width > limit:
            continue
        while count >= size:
            sizes.append(size)
            count -= size
    return sizes


def sqlite_inserts(
    dialect: Dialect, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """SQLite: the rows as multi-row statements with their flat parameters. An executemany
    steps once per row, and the driver takes and releases the GIL around every step: hundreds
    of lock handoffs with the event loop's thread per batch, which cost the request path more
    than the writes did."""
    start = 0
    for size in _chunks(len(rows), len(columns)):
        chunk = rows[start : start + size]
        start += size
        yield insert_sql(dialect, table, columns, size), tuple(v for row in chunk for v in row)


async def _insert(
    conn: AsyncConnection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    dialect = conn.dialect
    if dialect.name != "sqlite":  # asyncpg pipelines an executemany in one round trip
        await conn.exec_driver_sql(insert_sql(dialect, table, columns), rows)
        return
    for sql, params in sqlite_inserts(dialect, table, columns, rows):
        await conn.exec_driver_sql(sql, params)


def _processor(dialect: Dialect, column: Any) -> Callable[[Any], Any]:
    process = column.type.bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def usage_rows(charges: list[Charge], as_json: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    return [
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


def ledger_rows(charges: list[Charge], now: Any) -> list[tuple[Any, ...]]:
    return [(c.account_id, "charge", -c.cost_points, c.query_id, now) for c in charges]


def totals(charges: list[Charge]) -> tuple[dict[int, int], dict[int, int]]:
    """Points charged per account and per key."""
    per_account: dict[int, int] = defaultdict(int)
    per_key: dict[int, int] = defaultdict(int)
    for c in charges:
        per_account[c.account_id] += c.cost_points
        per_key[c.key_id] += c.cost_points
    return per_account, per_key


def converters(dialect: Dialect) -> tuple[Callable[[Any], Any], Any]:
    """The JSON column's converter and the ledger timestamp for now, as the dialect stores them."""
    as_json = _processor(dialect, USAGE.c.cost_breakdown)
    return as_json, _processor(dialect, LEDGER.c.created_at)(datetime.now(UTC))


async def _insert_rows(conn: AsyncConnection, charges: list[Charge]) -> None:
    as_json, now = converters(conn.dialect)
    await _insert(conn, USAGE.name, USAGE_COLUMNS, usage_rows(charges, as_json))
    await _insert(conn, LEDGER.name, LEDGER_COLUMNS, ledger_rows(charges, now))


async def write_batch(
    session: AsyncSession, charges: list[Charge], *, check_written: bool = True
) -> list[Charge]:
    """Write the charges not yet written; returns those this call wrote (the caller commits).

    ``check_written=False`` skips looking for charges already stored: right for a first
    attempt, whose charges cannot be there (a duplicate would still fail on the unique keys and
    roll the whole batch back, never charge twice).
    """
    fresh = charges
    if check_written:
        ids = [c.query_id for c in charges]
        done = set(
            (
                await session.scalars(
                    select(db.UsageEntry.query_id).where(db.UsageEntry.query_id.in_(ids))
                )
            ).all()
        )
        fresh = [c for c in charges if c.query_id not in done]
    if not fresh:
        return fresh
    conn = await session.connection()
    await _insert_rows(conn, fresh)
    per_account, per_key = totals(fresh)
    for account_id, points in per_account.items():
        await conn.execute(
            update(db.Account)
            .where(db.Account.id == account_id)
            .values(point_balance=db.Account.point_balance - points)
        )
    for key_id, points in per_key.items():
        await conn.execute(
            update(db.ApiKey)
            .where(db.ApiKey.id == key_id)
            .values(spent_points=db.ApiKey.spent_points + points)
        )
    return fresh


async def read_figures(session: AsyncSession) -> tuple[dict[int, int], dict[int, int]]:
    balances = dict((await session.execute(select(db.Account.id, db.Account.point_balance))).all())
    spends = dict((await session.execute(select(db.ApiKey.id, db.ApiKey.spent_points))).all())
    return balances, spends  # type: ignore[return-value]
