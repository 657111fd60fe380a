"""The ``patchbay`` command: serve the gateway and administer it from the shell.

Administrative commands work on the database directly (a running server notices the change
within a second), so they need no server and no admin key.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from patchbay.errors import GatewayError
from patchbay.settings import ConfigError, Settings, load_settings

app = typer.Typer(
    help="Patchbay: a self-hosted AI gateway.", no_args_is_help=True, pretty_exceptions_enable=False
)
accounts_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
models_app = typer.Typer(help="Inspect the model catalog.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
redemptions_app = typer.Typer(help="Redemption (top-up) codes.", no_args_is_help=True)
app.add_typer(redemptions_app, name="redemptions")
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")]


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def run_db(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Migrate, then run ``work(session)`` in one committed transaction."""
    from patchbay.db.engine import make_engine, make_sessionmaker
    from patchbay.runtime.bootstrap import migrate

    migrate(settings)

    async def main() -> T:
        engine = make_engine(settings.resolved_database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except GatewayError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Run the gateway (migrates and seeds the database first)."""
    from patchbay.serve import run

    settings = settings_or_exit(config, host=host, port=port, workers=workers)
    raise typer.Exit(run(settings, config, console, err))


@app.command()
def migrate(config: ConfigOpt = None) -> None:
    """Apply database migrations."""
    from patchbay.runtime.bootstrap import migrate as do_migrate

    settings = settings_or_exit(config)
    do_migrate(settings)
    console.print(f"[green]database is up to date[/] ({_safe_url(settings)})")


def _safe_url(settings: Settings) -> str:
    url = settings.resolved_database_url
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@accounts_app.command("create")
def accounts_create(
    name: str,
    role: Annotated[str, typer.Option(help="admin or user")] = "user",
    points: Annotated[int, typer.Option(help="Initial points.")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Create an account."""
    from patchbay.accounts import accounts

    async def work(session: Any) -> Any:
        return await accounts.create_account(session, name, role, points)

    account = run_db(settings_or_exit(config), work)
    console.print(
        f"created account [bold]{account.name}[/] (id {account.id}, {account.point_balance} points)"
    )


@accounts_app.command("list")
def accounts_list(config: ConfigOpt = None) -> None:
    """List accounts."""
    from patchbay.accounts import accounts

    rows = run_db(settings_or_exit(config), accounts.list_accounts)
    table = Table("id", "name", "role", "points", "created")
    for a in rows:
        table.add_row(str(a.id), a.name, a.role, str(a.point_balance), _when(a.created_at))
    console.print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    name: Annotated[str, typer.Option(help="A name for the key.")] = "default",
    allowed_models: Annotated[
        list[str] | None, typer.Option(help="Repeat for each id/glob.")
    ] = None,
    rpm: Annotated[int | None, typer.Option(min=1)] = None,
    tpm: Annotated[int | None, typer.Option(min=1)] = None,
    max_points: Annotated[int | None, typer.Option(min=0)] = None,
    config: ConfigOpt = None,
) -> None:
    """Create an API key; its secret is printed once."""
    from patchbay.accounts import accounts

    settings = settings_or_exit(config)

    async def work(session: Any) -> Any:
        owner = await accounts.get_account(session, account)
        return await accounts.create_key(
            session,
            owner,
            name=name,
            rpm=rpm or settings.default_rpm,
            allowed_models=allowed_models or None,
            tpm=tpm,
            max_points=max_points,
        )

    new = run_db(settings, work)
    console.print(
        f"created key [bold]{new.record.name}[/] (id {new.record.id}). "
        "Its secret is shown only now:"
    )
    console.print(new.secret, soft_wrap=True, highlight=False)


@keys_app.command("list")
def keys_list(
    account: Annotated[str | None, typer.Option(help="Only this account (id or name).")] = None,
    config: ConfigOpt = None,
) -> None:
    """List API keys (never their secrets)."""
    from patchbay.accounts import accounts

    async def work(session: Any) -> Any:
        owner = await accounts.get_account(session, account) if account else None
        return await accounts.list_keys(session, owner.id if owner else None)

    table = Table("id", "account", "name", "hint", "rpm", "allowed", "state", "last used")
    for k in run_db(settings_or_exit(config), work):
        state = "revoked" if k.revoked else "active"
        allowed = ", ".join(k.allowed_models) if k.allowed_models is not None else "all"
        table.add_row(
            str(k.id),
            str(k.account_id),
            k.name,
            k.key_hint,
            str(k.rpm),
            allowed,
            state,
            _when(k.last_used_at),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int, config: ConfigOpt = None) -> None:
    """Revoke an API key (running servers refuse it within a second)."""
    from patchbay.accounts import accounts

    async def work(session: Any) -> Any:
        return await accounts.revoke_key(session, key_id)

    key = run_db(settings_or_exit(config), work)
    console.print(f"revoked key {key.id} ([bold]{key.name}[/])")


@app.command()
def credit(
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    points: Annotated[int, typer.Argument(help="Points to add (negative to deduct).")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Add points to an account's balance."""
    from patchbay.accounts import accounts

    async def work(session: Any) -> Any:
        owner = await accounts.get_account(session, account)
        return await accounts.credit(session, owner, points, note)

    settings = settings_or_exit(config)
    updated = run_db(settings, work)
    if settings.redis_url:  # running instances admit from a book shared in Redis: move it too
        asyncio.run(_credit_shared(settings, updated.id, points))
    console.print(f"{updated.name}: balance is now [bold]{updated.point_balance}[/] points")


async def _credit_shared(settings: Settings, account_id: int, points: int) -> None:
    from patchbay.limits.factory import redis_client
    from patchbay.metering.shared_book import SharedBook, shared_prefix
    from patchbay.security.crypto import load_secret_box

    client = redis_client(str(settings.redis_url))
    try:
        box = load_secret_box(settings.secret_key, settings.data_dir)
        await SharedBook(client, shared_prefix(box.fingerprint)).credit(account_id, points)
    except Exception:
        err.print("[yellow]warning:[/] could not move the shared balance in Redis")
    finally:
        await client.aclose()


@app.command()
def usage(
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Entries to show.")] = 20,
    config: ConfigOpt = None,
) -> None:
    """Show an account's balance and its most recent usage."""
    from patchbay.accounts import accounts, usage_history

    settings = settings_or_exit(config)

    async def work(session: Any) -> Any:
        owner = await accounts.get_account(session, account)
        rows, _ = await usage_history.page(
            session,
            owner.id,
            limit=limit,
            starting_after=None,
            retention_days=settings.usage_retention_days,
        )
        return owner, rows

    owner, rows = run_db(settings, work)
    console.print(f"[bold]{owner.name}[/]: balance {owner.point_balance} points")
    table = Table("query id", "when (UTC)", "model", "key", "USD", "points")
    for row in rows:
        when = datetime.fromtimestamp(row.created_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        estimated = " (estimated)" if row.cost_breakdown.get("estimated") else ""
        table.add_row(
            row.query_id,
            when,
            row.bot,
            row.api_key_name or "—",
            row.cost_usd + estimated,
            str(row.cost_points),
        )
    console.print(table)


@app.command("rotate-secrets")
def rotate_secrets(config: ConfigOpt = None) -> None:
    """Re-encrypt stored upstream keys under the first key of ``secret_key``."""
    from patchbay.catalog.secrets import rotate_all
    from patchbay.security.crypto import load_secret_box

    settings = settings_or_exit(config)
    box = load_secret_box(settings.secret_key, settings.data_dir)

    async def work(session: Any) -> int:
        return await rotate_all(session, box)

    console.print(f"re-encrypted {run_db(settings, work)} stored secret(s)")


@models_app.command("list")
def models_list(config: ConfigOpt = None) -> None:
    """List catalog models and their routes."""
    from patchbay.catalog import models as catalog_models

    async def work(session: Any) -> Any:
        return [
            await catalog_models.model_json(session, m)
            for m in await catalog_models.list_models(session)
        ]

    table = Table("id", "owned by", "public", "pricing", "routes")
    for m in run_db(settings_or_exit(config), work):
        pricing = ", ".join(f"{k}={v}" for k, v in (m["pricing"] or {}).items() if v) or "free"
        routes = ", ".join(f"{r['provider']}:{r['model']}" for r in m["routes"]) or "—"
        table.add_row(m["id"], m["owned_by"], "yes" if m["is_public"] else "no", pricing, routes)
    console.print(table)


@redemptions_app.command("create")
def redemptions_create(
    points: Annotated[int, typer.Option(min=1, help="Points each code tops up.")],
    count: Annotated[int, typer.Option(min=1, max=1000, help="How many codes.")] = 1,
    expires_in_days: Annotated[float | None, typer.Option(min=0, help="Valid this long.")] = None,
    name: Annotated[str | None, typer.Option(help="A label for the batch.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create redemption codes; the codes are printed once."""
    from datetime import timedelta

    from patchbay.accounts import redemptions

    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None

    async def work(session: Any) -> Any:
        return await redemptions.create_codes(
            session, points=points, count=count, expires_at=expires, name=name
        )

    made = run_db(settings_or_exit(config), work)
    console.print(f"created {len(made)} code(s) of {points} points. Shown only now:")
    for new in made:
        console.print(new.code, soft_wrap=True, highlight=False)


@redemptions_app.command("list")
def redemptions_list(config: ConfigOpt = None) -> None:
    """List redemption codes (never the codes themselves)."""
    from patchbay.accounts import redemptions

    async def work(session: Any) -> Any:
        return [redemptions.code_json(r) for r in await redemptions.list_codes(session)]

    table = Table("id", "name", "hint", "points", "status", "expires", "redeemed by")
    for c in run_db(settings_or_exit(config), work):
        by = str(c["redeemed_by"]) if c["redeemed_by"] is not None else "—"
        expires = c["expires_at"][:16].replace("T", " ") if c["expires_at"] else "—"
        table.add_row(
            str(c["id"]), c["name"] or "—", c["hint"], str(c["points"]), c["status"], expires, by
        )
    console.print(table)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
