"""The write-behind settlement on SQLite and on PostgreSQL: rows the ORM reads back as written,
and a batch whose commit landed although the writer saw an error is not charged twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from patchbay.accounting.query_ids import new_query_id
from patchbay.accounts import accounts
from patchbay.db import models as db
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.db.migrate import upgrade
from patchbay.metering import writers as metering
from patchbay.metering.ledger_meter import LedgerMeter
from patchbay.metering.plan import Charge
from patchbay.metering.sqlite_writer import SQLiteWriter
from patchbay.metering.writers import write_batch
from tests.conftest import require_service
from tests.support import ledger_consistency, query, scratch_postgres

BREAKDOWN = {"tokens": {"prompt": 9, "completion": 8}, "prices": {"prompt": "0.000001"}}


@pytest.fixture(params=["sqlite", "sqlite-thread", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``sqlite-thread``: the same file, written by the SQLite settlement thread."""
    if request.param.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'settle.db'}"
        upgrade(url)
        yield url + ("#thread" if request.param == "sqlite-thread" else "")
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_postgres() as url:
        upgrade(url)
        yield url


def _meter(url: str) -> tuple[AsyncEngine, LedgerMeter]:
    threaded = url.endswith("#thread")
    engine = make_engine(url.removesuffix("#thread"))
    writer = SQLiteWriter(str(engine.url.database), engine.dialect) if threaded else None
    return engine, LedgerMeter(make_sessionmaker(engine), points_per_usd=100_000, writer=writer)


def _charges(account_id: int, key_id: int, count: int, points: int = 3) -> list[Charge]:
    now = int(time.time() * 1000)
    return [
        Charge(new_query_id(), account_id, key_id, "k", "m", now, "0.000025", points, BREAKDOWN)
        for _ in range(count)
    ]


async def _account(sessions: Any) -> tuple[int, int]:
    async with sessions() as session, session.begin():
        account = await accounts.create_account(session, "payer", points=10_000)
        key = await accounts.create_key(session, account, name="k", rpm=60)
        return account.id, key.record.id


def test_rows_read_back_through_the_orm(database_url: str) -> None:
    database_url = database_url.removesuffix("#thread")

    async def run() -> None:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        try:
            account_id, key_id = await _account(sessions)
            charges = _charges(account_id, key_id, 5)
            async with sessions() as session, session.begin():
                written = await write_batch(session, charges, check_written=False)
            assert len(written) == 5
            async with sessions() as session:
                entry = await session.scalar(
                    select(db.UsageEntry).where(db.UsageEntry.query_id == charges[0].query_id)
                )
                ledger = await session.scalar(
                    select(db.LedgerEntry).where(db.LedgerEntry.query_id == charges[0].query_id)
                )
                account = await session.get(db.Account, account_id)
                key = await session.get(db.ApiKey, key_id)
            assert entry is not None and entry.cost_breakdown == BREAKDOWN
            assert entry.cost_usd == "0.000025" and entry.api_key_id == key_id
            assert ledger is not None and ledger.points == -3 and ledger.kind == "charge"
            assert isinstance(ledger.created_at, datetime)
            assert abs(ledger.created_at.timestamp() - time.time()) < 60
            assert account is not None and account.point_balance == 10_000 - 15
            assert key is not None and key.spent_points == 15
            # the same charges again, unchecked: the unique keys refuse the whole batch
            with pytest.raises(IntegrityError):
                async with sessions() as session, session.begin():
                    await write_batch(session, charges[:2], check_written=False)
            # checked: nothing is written twice
            async with sessions() as session, session.begin():
                assert await write_batch(session, charges, check_written=True) == []
        finally:
            await engine.dispose()

    asyncio.run(run())
    ledger_consistency(database_url)


def test_a_commit_that_landed_despite_an_error_is_not_charged_twice(database_url: str) -> None:
    failures: list[int] = []

    async def run() -> None:
        engine, meter = _meter(database_url)
        real = meter.write

        async def lands_then_fails(batch: list[Charge], *, check_written: bool) -> None:
            if not failures:  # the first write reaches the database, then the writer loses it
                failures.append(len(batch))
                await real(batch, check_written=False)
                raise ConnectionError("connection lost after commit")
            await real(batch, check_written=check_written)

        meter.write = lands_then_fails  # type: ignore[method-assign]
        try:
            account_id, key_id = await _account(meter.sessions)
            meter.queue.extend(_charges(account_id, key_id, 40))
            with pytest.raises(ConnectionError):
                await meter.flush()
            meter.queue.extend(_charges(account_id, key_id, 10))  # newer, never tried
            await meter.flush()
            assert meter.queue == [] and meter._unsure == set()
        finally:
            await meter.aclose()
            await engine.dispose()

    asyncio.run(run())
    url = database_url.removesuffix("#thread")
    assert failures == [40]
    rows = query(url, "SELECT COUNT(*), SUM(points) FROM ledger_entries")
    assert rows[0][0] == 1 + 50 and rows[0][1] == 10_000 - 50 * 3  # top-up + 50 charges
    ledger_consistency(url)


def test_closing_while_a_batch_is_being_written_loses_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing = asyncio.Event()
    real_batch = metering.write_batch

    async def slow_batch(session: Any, batch: list[Charge], **kw: Any) -> list[Charge]:
        written = await real_batch(session, batch, **kw)  # the transaction holds the write lock
        writing.set()
        await asyncio.sleep(0.3)
        return written

    monkeypatch.setattr(metering, "write_batch", slow_batch)

    async def run() -> None:
        engine, meter = _meter(database_url)
        if isinstance(meter.writer, SQLiteWriter):
            writer, real = meter.writer, meter.writer._write

            def slow_thread(batch: list[Charge], check_written: bool) -> int:
                loop.call_soon_threadsafe(writing.set)
                time.sleep(0.3)  # inside the writer's thread, before the transaction ends
                return real(batch, check_written)

            loop = asyncio.get_running_loop()
            writer._write = slow_thread  # type: ignore[method-assign]
        try:
            account_id, key_id = await _account(meter.sessions)
            await meter.start()
            meter.queue.extend(_charges(account_id, key_id, 30))
            await asyncio.wait_for(writing.wait(), 5)
            meter.queue.extend(_charges(account_id, key_id, 20))  # queued behind the write
            await asyncio.wait_for(meter.aclose(), 15)
            assert meter.queue == []
        finally:
            await engine.dispose()

    asyncio.run(run())
    url = database_url.removesuffix("#thread")
    rows = query(url, "SELECT COUNT(*) FROM usage_entries")
    assert rows[0][0] == 50
    ledger_consistency(url)
