"""Console sessions: a random token in a cookie, its SHA-256 hash in ``console_sessions``.

A session belongs to the API key that signed in and ends when it expires, when the user signs
out, or when that key is revoked or expires (checked on every page). Each session carries its
own CSRF token, which every form posts back; the sign-in form, which comes before any
session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db
from patchbay.security.api_keys import hash_key

COOKIE = "pb_console"
LOGIN_CSRF_COOKIE = "pb_console_csrf"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at the console."""

    account_id: int
    account_name: str
    role: str
    key_id: int
    key_name: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def open_session(session: AsyncSession, account_id: int, key_id: int) -> str:
    """A new session for the key; returns the cookie's token (the caller commits)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await session.execute(delete(db.ConsoleSession).where(db.ConsoleSession.expires_at < now))
    session.add(
        db.ConsoleSession(
            token_hash=hash_key(token),
            account_id=account_id,
            api_key_id=key_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    await session.flush()
    return token


async def viewer(session: AsyncSession, token: str | None) -> Viewer | None:
    """The signed-in viewer of this cookie, or None (unknown, expired, key revoked)."""
    if not token:
        return None
    row = (
        await session.execute(
            select(db.ConsoleSession, db.ApiKey, db.Account)
            .join(db.ApiKey, db.ApiKey.id == db.ConsoleSession.api_key_id)
            .join(db.Account, db.Account.id == db.ConsoleSession.account_id)
            .where(db.ConsoleSession.token_hash == hash_key(token))
        )
    ).first()
    if row is None:
        return None
    record, key, account = row
    now = datetime.now(UTC)
    if _aware(record.expires_at) <= now or key.revoked:
        return None
    if key.expires_at is not None and _aware(key.expires_at) <= now:
        return None
    return Viewer(account.id, account.name, account.role, key.id, key.name, record.csrf_token)


async def close_session(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.execute(
            delete(db.ConsoleSession).where(db.ConsoleSession.token_hash == hash_key(token))
        )


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token (both present and equal)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
