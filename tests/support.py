"""Helpers shared by integration tests: PostgreSQL scratch databases and ledger inspection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import text

from patchbay.db.engine import make_engine
from tests.conftest import POSTGRES_URL


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; dropped afterwards."""
    name = f"patchbay_test_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql), params)
                return [tuple(r) for r in result.all()] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def ledger_consistency(url: str) -> None:
    """Balances equal ledger sums; every usage entry has exactly one charge and vice versa."""
    mismatched = query(
        url,
        """
        SELECT a.id FROM accounts a
        LEFT JOIN (SELECT account_id, SUM(points) AS s FROM ledger_entries GROUP BY account_id) l
          ON l.account_id = a.id
        WHERE a.point_balance != COALESCE(l.s, 0)""",
    )
    assert mismatched == [], f"balance != ledger sum for accounts {mismatched}"
    orphans = query(
        url,
        """
        SELECT u.query_id FROM usage_entries u
        LEFT JOIN ledger_entries l ON l.query_id = u.query_id AND l.kind = 'charge'
        GROUP BY u.query_id HAVING COUNT(l.id) != 1""",
    )
    assert orphans == [], f"usage entries without exactly one charge: {orphans[:5]}"
    charges = query(
        url,
        """
        SELECT l.query_id FROM ledger_entries l
        LEFT JOIN usage_entries u ON u.query_id = l.query_id
        WHERE l.kind = 'charge' AND u.query_id IS NULL""",
    )
    assert charges == [], f"charges without a usage entry: {charges[:5]}"
