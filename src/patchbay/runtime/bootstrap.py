"""Start-up work done once per start, before workers serve: migrate, create the admin account
on an empty database, make sure the built-in ``echo`` model exists, apply the TOML catalog."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from patchbay.accounts import accounts
from patchbay.catalog import models, providers
from patchbay.db import models as db
from patchbay.db.engine import make_engine, make_sessionmaker
from patchbay.db.migrate import startup_lock, upgrade
from patchbay.security.crypto import load_secret_box, write_private_file
from patchbay.settings import Settings

log = logging.getLogger("patchbay.bootstrap")

ADMIN_KEY_FILE = "admin.key"
ECHO_MODEL = {
    "id": "echo",
    "owned_by": "patchbay",
    "description": "Built-in model that streams back your last message. Free; no upstream.",
    "input_modalities": ["text", "image"],
    "output_modalities": ["text"],
    "context_window": 1_000_000,
    "max_output_tokens": 1_000_000,
    "supports_parallel_tool_calls": False,
    "pricing": None,
    "routes": [{"provider": "echo", "model": "echo", "weight": 1}],
}


@dataclass
class BootstrapResult:
    admin_key_created: str | None  # the new admin secret, shown once; None if none was made


def prepare_data_dir(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)


def migrate(settings: Settings) -> None:
    prepare_data_dir(settings)
    upgrade(settings.resolved_database_url)


async def _bootstrap(settings: Settings) -> BootstrapResult:
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    box = load_secret_box(settings.secret_key, settings.data_dir)
    created: str | None = None
    try:
        async with sessions() as session, session.begin():
            if await accounts.count_accounts(session) == 0:
                admin = await accounts.create_account(session, "admin", role="admin")
                new = await accounts.create_key(
                    session,
                    admin,
                    name="admin",
                    rpm=settings.default_rpm,
                    secret=settings.admin_key,
                )
                created = None if settings.admin_key else new.secret
                if created:
                    write_private_file(settings.data_dir / ADMIN_KEY_FILE, created + "\n")
            elif settings.admin_key and not await accounts.find_key_by_secret(
                session, settings.admin_key
            ):
                admin = await accounts.get_account(session, "admin")
                await accounts.create_key(
                    session,
                    admin,
                    name="admin (environment)",
                    rpm=settings.default_rpm,
                    secret=settings.admin_key,
                )
            await providers.upsert_provider(
                session, {"name": "echo", "kind": "echo"}, box, source="builtin"
            )
            if await session.get(db.Model, "echo") is None:
                await models.upsert_model(session, dict(ECHO_MODEL), source="builtin")
            for provider in settings.providers:
                await providers.upsert_provider(session, dict(provider), box, source="config")
            for model in settings.models:
                await models.upsert_model(session, dict(model), source="config")
    finally:
        await engine.dispose()
    return BootstrapResult(created)


def bootstrap(settings: Settings) -> BootstrapResult:
    """Migrate and seed the database. Blocking; run before the server's event loop starts.
    Instances starting at once on one database do this one at a time (``startup_lock``)."""
    with startup_lock(settings.resolved_database_url):
        migrate(settings)
        return asyncio.run(_bootstrap(settings))
