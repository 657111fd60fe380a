"""The statements that move points: usage entries, ledger rows and balance moves, built once
for every writer — the settlement writers (SQLite's thread and SQLAlchemy's connection) and
the ledger's top-ups — so each is written one way.

A ``Plan`` is a list of ``(sql, rows)`` in the driver's own parameter style; every statement
is executed once per row (``executemany``). On SQLite the inserts are multi-row statements of a
few fixed sizes: an ``executemany`` steps once per row and the driver takes and releases the
GIL around every step, hundreds of hand-offs per batch; a handful of sizes keeps each
connection's prepared-statement cache small. Values that need a dialect's conversion (JSON,
timestamps) go through that column type's own bind processor, so the stored form is exactly
what the ORM reads back, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from patchbay.db import models as db

Row = tuple[Any, ...]
Plan = list[tuple[str, list[Row]]]
USAGE: Table = db.UsageEntry.__table__  # type: ignore[assignment]
LEDGER: Table = db.LedgerEntry.__table__  # type: ignore[assignment]
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
LEDGER_COLUMNS = ("account_id", "kind", "points", "query_id", "note", "created_at")
# rows per multi-row SQLite statement, largest first
SQLITE_CHUNKS = (256, 32, 4, 1)


def marks(style: str, count: int, start: int = 0) -> list[str]:
    if style == "qmark":
        return ["?"] * count
    if style == "numeric_dollar":
        return [f"${start + i + 1}" for i in range(count)]
    if style == "numeric":
        return [f":{start + i + 1}" for i in range(count)]
    if style in ("format", "pyformat"):
        return ["%s"] * count
    raise RuntimeError(f"unsupported DB-API parameter style: {style}")


@functools.lru_cache(maxsize=64)
def insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """A plain ``INSERT`` of ``rows`` rows in the driver's own parameter style."""
    width = len(columns)
    values = ", ".join(
        f"({', '.join(marks(dialect.paramstyle, width, row * width))})" for row in range(rows)
    )
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"


@functools.lru_cache(maxsize=16)
def add_sql(dialect: Dialect, table: str, column: str) -> str:
    """``column += ?`` for the row whose ``id`` is the second parameter."""
    value, row_id = marks(dialect.paramstyle, 2)
    return f"UPDATE {table} SET {column} = {column} + {value} WHERE id = {row_id}"


def chunks(count: int, width: int) -> list[int]:
    """``count`` rows as SQLite statement sizes, largest first, within the bound-variable cap."""
    sizes: list[int] = []
    limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    for size in SQLITE_CHUNKS:
        if size * width > limit:
            continue
        while count >= size:
            sizes.append(size)
            count -= size
    return sizes


def inserts(dialect: Dialect, table: str, columns: tuple[str, ...], rows: list[Row]) -> Plan:
    if dialect.name != "sqlite":  # asyncpg pipelines an executemany in one round trip
        return [(insert_sql(dialect, table, columns), rows)] if rows else []
    plan: Plan = []
    start = 0
    for size in chunks(len(rows), len(columns)):
        part = rows[start : start + size]
        start += size
        plan.append(
            (insert_sql(dialect, table, columns, size), [tuple(v for r in part for v in r)])
        )
    return plan


def moves(dialect: Dialect, table: str, column: str, deltas: dict[int, int]) -> Plan:
    """Add each delta to ``column`` of the row with that id."""
    rows: list[Row] = [(delta, row_id) for row_id, delta in deltas.items() if delta]
    return [(add_sql(dialect, table, column), rows)] if rows else []


def _processor(dialect: Dialect, column: Any) -> Callable[[Any], Any]:
    process = column.type.bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def json_value(dialect: Dialect) -> Callable[[Any], Any]:
    """The JSON column's converter, as the dialect stores it."""
    return _processor(dialect, USAGE.c.cost_breakdown)


def timestamp_now(dialect: Dialect) -> Any:
    """Now, as the dialect stores the ledger's ``created_at``."""
    return _processor(dialect, LEDGER.c.created_at)(datetime.now(UTC))


def ledger_plan(
    dialect: Dialect,
    entries: Iterable[tuple[int, str, int, str | None, str | None]],
) -> Plan:
    """Ledger rows ``(account_id, kind, points, query_id, note)`` and their balance moves."""
    now = timestamp_now(dialect)
    rows: list[Row] = []
    per_account: dict[int, int] = {}
    for account_id, kind, points, query_id, note in entries:
        rows.append((account_id, kind, points, query_id, note, now))
        per_account[account_id] = per_account.get(account_id, 0) + points
    return [
        *inserts(dialect, LEDGER.name, LEDGER_COLUMNS, rows),
        *moves(dialect, "accounts", "point_balance", per_account),
    ]


async def execute(conn: AsyncConnection, plan: Plan) -> None:
    """Run a plan on a SQLAlchemy connection, in the caller's transaction."""
    for sql, rows in plan:
        if len(rows) == 1:
            await conn.exec_driver_sql(sql, rows[0])
        else:
            await conn.exec_driver_sql(sql, rows)


def execute_sqlite(connection: sqlite3.Connection, plan: Plan) -> None:
    """Run a plan on a plain sqlite3 connection, in its open transaction."""
    for sql, rows in plan:
        if len(rows) == 1:
            connection.execute(sql, rows[0])
        else:
            connection.executemany(sql, rows)
