"""Settlement on SQLite: each batch written by one thread, in one hand-off from the event loop.

Through the async driver every statement, cursor and commit is its own trip between the event
loop and the connection's thread, and under load each trip waits behind every request ready on
the loop: a batch of a few thousand charges took seconds (measured at c=64: 2,493 charges in
3.5 s), so the queue — and the crash window — grew with the load. Here the whole transaction
(check, inserts, balance moves, commit) runs in a dedicated thread on its own connection; the
loop awaits it once. Rows are built in that thread too, with the same converters and statement
shapes as the SQLAlchemy path (``settlement``), which PostgreSQL keeps using.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Dialect

from patchbay.services import settlement
from patchbay.services.settlement import Charge

BUSY_TIMEOUT_MS = 10_000


class SQLiteSettlement:
    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="patchbay-settlement")
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys=ON")
            self._connection = connection
        return self._connection

    def _written(self, connection: sqlite3.Connection, charges: list[Charge]) -> set[str]:
        found: set[str] = set()
        ids = [c.query_id for c in charges]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join(["?"] * len(part))
            rows = connection.execute(
                f"SELECT query_id FROM usage_entries WHERE query_id IN ({marks})", part
            )
            found.update(row[0] for row in rows)
        return found

    def _insert(
        self,
        connection: sqlite3.Connection,
        table: str,
        columns: tuple[str, ...],
        rows: list[tuple[object, ...]],
    ) -> None:
        for sql, params in settlement.sqlite_inserts(self.dialect, table, columns, rows):
            connection.execute(sql, params)

    def _write(self, charges: list[Charge], check_written: bool) -> int:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            if check_written:
                done = self._written(connection, charges)
                charges = [c for c in charges if c.query_id not in done]
            if charges:
                as_json, now = settlement.converters(self.dialect)
                self._insert(
                    connection,
                    settlement.USAGE.name,
                    settlement.USAGE_COLUMNS,
                    settlement.usage_rows(charges, as_json),
                )
                self._insert(
                    connection,
                    settlement.LEDGER.name,
                    settlement.LEDGER_COLUMNS,
                    settlement.ledger_rows(charges, now),
                )
                per_account, per_key = settlement.totals(charges)
                connection.executemany(
                    "UPDATE accounts SET point_balance = point_balance - ? WHERE id = ?",
                    [(points, account) for account, points in per_account.items()],
                )
                connection.executemany(
                    "UPDATE api_keys SET spent_points = spent_points + ? WHERE id = ?",
                    [(points, key) for key, points in per_key.items()],
                )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return len(charges)

    async def write(self, charges: list[Charge], *, check_written: bool) -> int:
        """Write the charges (those not stored yet, when checking); returns how many."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._write, charges, check_written)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
