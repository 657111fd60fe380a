"""A write landing while a worker starts is not missed: the versions are read before the state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from patchbay.accounts.accounts import create_account
from patchbay.db import migrate
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.metering.ledger_meter import LedgerMeter
from patchbay.runtime.gateway import Gateway
from patchbay.settings import Settings


def test_an_account_created_while_the_balances_load_is_heard_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings.resolved_database_url)
    created: list[int] = []
    start = LedgerMeter.start

    async def start_then_another_worker_writes(meter: LedgerMeter) -> None:
        await start(meter)  # the balances are loaded; now another worker adds an account
        engine = make_engine(settings.resolved_database_url)
        async with make_sessionmaker(engine)() as session, session.begin():
            created.append((await create_account(session, "late", points=1000)).id)
        await engine.dispose()

    monkeypatch.setattr(LedgerMeter, "start", start_then_another_worker_writes)

    async def run() -> int:
        gateway = await Gateway.start(settings)
        try:
            assert gateway.watcher is not None
            await gateway.watcher.check()  # what the watcher's first period does
            return gateway.meter.book.available(created[0])
        finally:
            await gateway.stop()

    assert asyncio.run(run()) == 1000
