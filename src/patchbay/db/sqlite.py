"""SQLite connection settings, in one place for every connection the gateway opens (the
SQLAlchemy engine's and the settlement thread's)."""

from __future__ import annotations

from typing import Any

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
)


def apply_pragmas(connection: Any) -> None:
    """Apply the settings to a DB-API connection (sqlite3 or aiosqlite's adapter)."""
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
