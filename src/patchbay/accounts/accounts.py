"""Accounts and their API keys: the operations behind the admin API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounts.ledger import post_entry
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.errors import Conflict, InvalidRequest, NotFound
from patchbay.security.api_keys import generate_key, hash_key, key_hint

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns: anything else names no row


def row_id(ref: int | str) -> int | None:
    """``ref`` as a row id, or None when it cannot be one (not a number, out of range)."""
    if isinstance(ref, str):
        if not (ref.isascii() and ref.isdigit()):
            return None
        ref = int(ref)
    return ref if 0 < ref <= MAX_ID else None


@dataclass(frozen=True)
class NewKey:
    record: db.ApiKey
    secret: str


def rfc3339(value: datetime | None) -> str | None:
    """One form for every time the API gives: RFC 3339 in UTC with a ``Z`` (SQLite hands back
    naive datetimes, PostgreSQL aware ones; both are stored as UTC)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds").replace("+00:00", "Z")


def account_json(account: db.Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "object": "account",
        "name": account.name,
        "role": account.role,
        "point_balance": account.point_balance,
        "created_at": rfc3339(account.created_at),
    }


def key_json(key: db.ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "object": "api_key",
        "account_id": key.account_id,
        "name": key.name,
        "hint": key.key_hint,
        "allowed_models": key.allowed_models,
        "rpm": key.rpm,
        "tpm": key.tpm,
        "max_points": key.max_points,
        "spent_points": key.spent_points,
        "expires_at": rfc3339(key.expires_at),
        "revoked": key.revoked,
        "last_used_at": rfc3339(key.last_used_at),
        "created_at": rfc3339(key.created_at),
    }


async def count_accounts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(db.Account.id))) or 0)


async def create_account(
    session: AsyncSession, name: str, role: str = "user", points: int = 0
) -> db.Account:
    if role not in ("admin", "user"):
        raise InvalidRequest("role must be 'admin' or 'user'", param="role")
    if await session.scalar(select(db.Account.id).where(db.Account.name == name)):
        raise Conflict(f"an account named '{name}' already exists", param="name")
    account = db.Account(name=name, role=role, point_balance=0, created_at=datetime.now(UTC))
    session.add(account)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"an account named '{name}' already exists", param="name") from None
    if points:
        await post_entry(session, account.id, points, kind="topup", note="initial points")
        await versions.bump(session, versions.BALANCES)
        await session.refresh(account)
    return account


async def get_account(session: AsyncSession, ref: int | str) -> db.Account:
    """An account by id, or by name when ``ref`` is not a number."""
    query = select(db.Account)
    number = row_id(ref)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        if number is None:
            raise NotFound(f"account '{ref}' not found")
        query = query.where(db.Account.id == number)
    else:
        query = query.where(db.Account.name == ref)
    account = await session.scalar(query)
    if account is None:
        raise NotFound(f"account '{ref}' not found")
    return account


async def list_accounts(session: AsyncSession) -> list[db.Account]:
    return list((await session.scalars(select(db.Account).order_by(db.Account.id))).all())


async def credit(
    session: AsyncSession, account: db.Account, points: int, note: str | None
) -> db.Account:
    if points == 0:
        raise InvalidRequest("points must not be zero", param="points")
    kind = "topup" if points > 0 else "adjustment"
    await post_entry(session, account.id, points, kind=kind, note=note)
    await versions.bump(session, versions.BALANCES)
    await session.flush()
    await session.refresh(account)
    return account


async def create_key(
    session: AsyncSession,
    account: db.Account,
    *,
    name: str,
    rpm: int,
    allowed_models: list[str] | None = None,
    tpm: int | None = None,
    max_points: int | None = None,
    expires_at: datetime | None = None,
    secret: str | None = None,
) -> NewKey:
    secret = secret or generate_key()
    now = datetime.now(UTC)
    record = db.ApiKey(
        account_id=account.id,
        name=name,
        key_hash=hash_key(secret),
        key_hint=key_hint(secret),
        allowed_models=allowed_models,
        rpm=rpm,
        tpm=tpm,
        max_points=max_points,
        spent_points=0,
        expires_at=expires_at,
        revoked=False,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    await session.flush()
    await versions.bump(session, versions.KEYS)
    return NewKey(record, secret)


async def list_keys(session: AsyncSession, account_id: int | None = None) -> list[db.ApiKey]:
    query = select(db.ApiKey).order_by(db.ApiKey.id)
    if account_id is not None:
        query = query.where(db.ApiKey.account_id == account_id)
    return list((await session.scalars(query)).all())


async def revoke_key(session: AsyncSession, key_id: int | str) -> db.ApiKey:
    number = row_id(key_id)
    key = await session.get(db.ApiKey, number) if number is not None else None
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    key.revoked = True
    key.updated_at = datetime.now(UTC)
    await versions.bump(session, versions.KEYS)
    await session.flush()
    return key


async def find_key_by_secret(session: AsyncSession, secret: str) -> db.ApiKey | None:
    return await session.scalar(select(db.ApiKey).where(db.ApiKey.key_hash == hash_key(secret)))
