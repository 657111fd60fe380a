"""API-key authentication from an in-memory cache (the request path stays off the database).

A key is looked up by its SHA-256 hash: a cache hit costs a dict lookup; a miss costs one indexed
query, after which the answer (also "no such key", for a short while) is cached. Every worker
drops the cache when the cluster's ``keys`` version changes (see ``db.versions``), so a
revocation reaches all of them within the watcher's period.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.db import models as db
from patchbay.errors import AuthenticationFailed
from patchbay.security.api_keys import hash_key

NEGATIVE_TTL_S = 2.0
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key and its account, as the request path needs them."""

    key_id: int
    key_name: str
    account_id: int
    account_name: str
    role: str
    allowed_models: tuple[str, ...] | None
    rpm: int
    tpm: int | None
    max_points: int | None
    expires_at: float | None  # Unix seconds
    revoked: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _principal(key: db.ApiKey, account: db.Account) -> Principal:
    expires = key.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return Principal(
        key_id=key.id,
        key_name=key.name,
        account_id=account.id,
        account_name=account.name,
        role=account.role,
        allowed_models=tuple(key.allowed_models) if key.allowed_models is not None else None,
        rpm=key.rpm,
        tpm=key.tpm,
        max_points=key.max_points,
        expires_at=expires.timestamp() if expires else None,
        revoked=key.revoked,
    )


class KeyStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._cache: dict[str, Principal] = {}
        self._missing: dict[str, float] = {}
        self._used: set[int] = set()

    def invalidate(self) -> None:
        self._cache.clear()
        self._missing.clear()

    async def authenticate(self, raw_key: str | None) -> Principal:
        if not raw_key:
            raise AuthenticationFailed("missing API key")
        digest = hash_key(raw_key)
        principal = self._cache.get(digest)
        if principal is None:
            principal = await self._load(digest)
        if principal.revoked:
            raise AuthenticationFailed("this API key has been revoked")
        if principal.expires_at is not None and principal.expires_at <= time.time():
            raise AuthenticationFailed("this API key has expired")
        self._used.add(principal.key_id)
        return principal

    async def _load(self, digest: str) -> Principal:
        missing_until = self._missing.get(digest)
        if missing_until is not None and missing_until > time.monotonic():
            raise AuthenticationFailed("invalid API key")
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(db.ApiKey, db.Account)
                    .join(db.Account, db.Account.id == db.ApiKey.account_id)
                    .where(db.ApiKey.key_hash == digest)
                )
            ).first()
        if row is None:
            if len(self._missing) > MAX_ENTRIES:
                self._missing.clear()
            self._missing[digest] = time.monotonic() + NEGATIVE_TTL_S
            raise AuthenticationFailed("invalid API key")
        if len(self._cache) > MAX_ENTRIES:
            self._cache.clear()
        principal = _principal(row[0], row[1])
        self._cache[digest] = principal
        return principal

    async def flush_last_used(self) -> None:
        """Write ``last_used_at`` for keys used since the last flush (off the request path)."""
        if not self._used:
            return
        used, self._used = self._used, set()
        try:
            async with self._sessions() as session:
                await session.execute(
                    update(db.ApiKey)
                    .where(db.ApiKey.id.in_(used))
                    .values(last_used_at=datetime.now(UTC))
                )
                await session.commit()
        except BaseException:
            self._used |= used  # kept for the next flush: a database outage loses no use
            raise
