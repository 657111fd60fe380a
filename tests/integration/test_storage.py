"""Migrations and storage on SQLite and on PostgreSQL (the real server at 127.0.0.1:5432)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, inspect, select, text

from patchbay.accounts import accounts
from patchbay.accounts.keystore import KeyStore
from patchbay.catalog import models as models_admin
from patchbay.catalog import providers as catalog_admin
from patchbay.db import models as db
from patchbay.db import versions as cluster
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.db.migrate import current_heads, downgrade, upgrade
from patchbay.errors import AuthenticationFailed
from patchbay.security.api_keys import hash_key
from patchbay.security.crypto import load_secret_box
from tests.conftest import POSTGRES_URL, require_service

TABLES = {
    "video_tasks",
    "redemption_codes",
    "console_sessions",
    "book_holds",
    "accounts",
    "api_keys",
    "ledger_entries",
    "usage_entries",
    "providers",
    "models",
    "model_routes",
    "bots",
    "stored_responses",
    "cluster_state",
}


def _pg_admin_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"patchbay_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(_pg_admin_dsn())
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_migrations_upgrade_downgrade_upgrade(database_url: str) -> None:
    upgrade(database_url)
    assert TABLES <= asyncio.run(_tables(database_url))
    downgrade(database_url, "base")
    assert not TABLES & asyncio.run(_tables(database_url))
    upgrade(database_url)
    assert TABLES <= asyncio.run(_tables(database_url))
    assert current_heads() == ["0001"] or len(current_heads()) == 1


def _drift(url: str) -> list[object]:
    """Differences between the ORM tables and the migrated schema (Alembic's autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from patchbay.db.models import Base

    async def run() -> list[object]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda c: list(compare_metadata(MigrationContext.configure(c), Base.metadata))
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_match_the_orm_tables(database_url: str) -> None:
    upgrade(database_url)
    assert _drift(database_url) == []


async def _exercise(url: str, tmp: Path) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    box = load_secret_box(None, tmp)
    try:
        async with sessions() as session, session.begin():
            account = await accounts.create_account(session, "acme", points=500)
            await accounts.credit(session, account, 250, "top-up")
            await accounts.credit(session, account, -50, "correction")
            new = await accounts.create_key(
                session, account, name="ci", rpm=7, allowed_models=["gpt-*"]
            )
            await catalog_admin.upsert_provider(
                session,
                {
                    "name": "up",
                    "kind": "openai",
                    "base_url": "http://127.0.0.1:1/v1",
                    "api_key": "sk-very-secret-upstream",
                },
                box,
                source="api",
            )
            await models_admin.upsert_model(
                session,
                {
                    "id": "m1",
                    "pricing": {"prompt": "0.000001"},
                    "routes": [{"provider": "up", "model": "real-m1"}],
                },
                source="api",
            )
        async with sessions() as session:
            refreshed = await accounts.get_account(session, "acme")
            ledger_sum = await session.scalar(
                select(func.sum(db.LedgerEntry.points)).where(
                    db.LedgerEntry.account_id == refreshed.id
                )
            )
            assert refreshed.point_balance == ledger_sum == 700
            stored = await session.scalar(select(db.ApiKey.key_hash))
            assert stored == hash_key(new.secret) and new.secret not in str(stored)
            raw = await session.scalar(text("SELECT api_key_encrypted FROM providers"))
            assert raw and "sk-very-secret-upstream" not in raw
            assert box.decrypt(raw) == "sk-very-secret-upstream"
            route = await session.scalar(select(db.ModelRoute.upstream_model))
            assert route == "real-m1"
            version = await session.scalar(
                select(db.ClusterState.version).where(db.ClusterState.name == cluster.CATALOG)
            )
            assert version and version >= 2
        principal = await KeyStore(sessions).authenticate(new.secret)
        assert principal.rpm == 7 and principal.allowed_models == ("gpt-*",)
        async with sessions() as session, session.begin():
            await accounts.revoke_key(session, principal.key_id)
        with pytest.raises(AuthenticationFailed, match="revoked"):
            await KeyStore(sessions).authenticate(new.secret)
    finally:
        await engine.dispose()


def test_accounts_keys_ledger_and_secrets(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    asyncio.run(_exercise(database_url, tmp_path))


def test_conversations_saved_and_replaced_on_both_databases(database_url: str) -> None:
    """``store``: a response kept by id in one statement, a second save of it replacing it."""
    from patchbay.proxy.conversations import Conversations

    upgrade(database_url)

    async def run() -> None:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as session, session.begin():
                account = await accounts.create_account(session, "keeper")
            kept = Conversations(sessions)
            items = [{"type": "message", "role": "user", "content": "héllo"}]
            answer = {"id": "resp_1", "output": [{"type": "message", "content": []}]}
            await kept.save(account.id, "m", items, answer)
            assert await kept.history(account.id, "resp_1") == [*items, *answer["output"]]
            answer2 = {"id": "resp_1", "output": [{"type": "message", "content": ["again"]}]}
            await kept.save(account.id, "m2", items, answer2)
            assert await kept.history(account.id, "resp_1") == [*items, *answer2["output"]]
            async with sessions() as session:
                row = await session.get(db.StoredResponse, "resp_1")
                assert row is not None and row.model == "m2" and row.response == answer2
        finally:
            await engine.dispose()

    asyncio.run(run())
