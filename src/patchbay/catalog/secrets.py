"""Re-encryption of every stored upstream secret after a ``secret_key`` rotation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db
from patchbay.db import versions
from patchbay.security.crypto import SecretBox


async def rotate_all(session: AsyncSession, box: SecretBox) -> int:
    count = 0
    for provider in (await session.scalars(select(db.Provider))).all():
        if provider.api_key_encrypted:
            provider.api_key_encrypted = box.rotate(provider.api_key_encrypted)
            count += 1
    for bot in (await session.scalars(select(db.Bot))).all():
        if bot.api_key_encrypted:
            bot.api_key_encrypted = box.rotate(bot.api_key_encrypted)
            count += 1
    await versions.bump(session, versions.CATALOG)
    return count
