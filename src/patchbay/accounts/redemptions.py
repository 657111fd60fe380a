"""Redemption codes (seed 001's Redemption): top-up codes an admin creates and a user redeems.

- A code is random (144 bits), shown once when it is created and stored only as its SHA-256
  hash with a short hint, like an API key.
- ``redeem`` is exactly once, across workers and instances: one conditional ``UPDATE ... WHERE
  status = 'unused' AND (not expired)`` claims the code, and the ledger top-up is posted in the
  same transaction (the caller commits). Two racing redemptions both run the UPDATE; the
  database lets one of them match the row (PostgreSQL re-checks the condition after the first
  commits, SQLite serialises writers), the other matches nothing and gets 409.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounts.accounts import rfc3339
from patchbay.accounts.ledger import post_entry
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.errors import Conflict, InvalidRequest, NotFound
from patchbay.security.api_keys import hash_key

PREFIX = "pbr-"
MAX_COUNT = 1000
MAX_POINTS = 10**12


@dataclass(frozen=True)
class NewCode:
    record: db.RedemptionCode
    code: str


def generate_code() -> str:
    return PREFIX + secrets.token_urlsafe(18)


def code_hint(code: str) -> str:
    return f"{code[:8]}…{code[-4:]}"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def code_json(row: db.RedemptionCode) -> dict[str, Any]:
    expires = _aware(row.expires_at)
    status = row.status
    if status == "unused" and expires is not None and expires <= datetime.now(UTC):
        status = "expired"
    return {
        "id": row.id,
        "object": "redemption_code",
        "name": row.name,
        "hint": row.code_hint,
        "points": row.points,
        "status": status,
        "expires_at": rfc3339(expires),
        "created_at": rfc3339(row.created_at),
        "redeemed_at": rfc3339(row.redeemed_at),
        "redeemed_by": row.redeemed_by,
    }


async def create_codes(
    session: AsyncSession,
    *,
    points: int,
    count: int = 1,
    expires_at: datetime | None = None,
    name: str | None = None,
) -> list[NewCode]:
    """``count`` new codes worth ``points`` each (the caller commits; the codes are shown once)."""
    if not 1 <= points <= MAX_POINTS:
        raise InvalidRequest(f"points must be from 1 to {MAX_POINTS}", param="points")
    if not 1 <= count <= MAX_COUNT:
        raise InvalidRequest(f"count must be from 1 to {MAX_COUNT}", param="count")
    expires_at = _aware(expires_at)
    now = datetime.now(UTC)
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest("expires_at must be in the future", param="expires_at")
    made: list[NewCode] = []
    for _ in range(count):
        code = generate_code()
        row = db.RedemptionCode(
            code_hash=hash_key(code),
            code_hint=code_hint(code),
            name=name,
            points=points,
            status="unused",
            expires_at=expires_at,
            created_at=now,
        )
        session.add(row)
        made.append(NewCode(row, code))
    await session.flush()
    return made


async def list_codes(
    session: AsyncSession, *, status: str | None = None, limit: int = 500
) -> list[db.RedemptionCode]:
    query = select(db.RedemptionCode).order_by(db.RedemptionCode.id.desc()).limit(limit)
    if status is not None:
        query = query.where(db.RedemptionCode.status == status)
    return list((await session.scalars(query)).all())


async def redeem(session: AsyncSession, account_id: int, code: str) -> db.RedemptionCode:
    """Claim ``code`` for the account and post its top-up, in the caller's transaction."""
    code = code.strip()
    if not code:
        raise InvalidRequest("code must not be empty", param="code")
    digest = hash_key(code)
    now = datetime.now(UTC)
    claimed = await session.execute(
        update(db.RedemptionCode)
        .where(
            db.RedemptionCode.code_hash == digest,
            db.RedemptionCode.status == "unused",
            or_(db.RedemptionCode.expires_at.is_(None), db.RedemptionCode.expires_at > now),
        )
        .values(status="used", redeemed_at=now, redeemed_by=account_id)
        .returning(db.RedemptionCode.id, db.RedemptionCode.points, db.RedemptionCode.code_hint)
    )
    row = claimed.first()
    if row is None:
        raise await _refusal(session, digest)
    code_id, points, hint = row
    await post_entry(session, account_id, int(points), kind="topup", note=f"redemption code {hint}")
    await versions.bump(session, versions.BALANCES)
    record = await session.get(db.RedemptionCode, code_id, populate_existing=True)
    assert record is not None
    return record


async def _refusal(session: AsyncSession, digest: str) -> Exception:
    """Why a code could not be claimed (read after the claim matched nothing)."""
    known = await session.scalar(
        select(db.RedemptionCode).where(db.RedemptionCode.code_hash == digest)
    )
    if known is None:
        missing = NotFound("no such redemption code")
        missing.code = "code_not_found"
        return missing
    if known.status == "used":
        error = Conflict("this redemption code has already been redeemed", param="code")
        error.code = "code_already_redeemed"
        return error
    if known.status == "unused":  # then it has expired
        error = Conflict("this redemption code has expired", param="code")
        error.code = "code_expired"
        return error
    error = Conflict("this redemption code is disabled", param="code")
    error.code = "code_disabled"
    return error
