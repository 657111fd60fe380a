"""Providers and models: validation and storage, shared by the admin API and the TOML file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.catalog.entries import PROVIDER_KINDS
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.errors import Conflict, InvalidRequest, NotFound
from patchbay.security.crypto import SecretBox

TIMEOUTS = ("connect_timeout_s", "first_byte_timeout_s", "idle_timeout_s")


def provider_json(row: db.Provider) -> dict[str, Any]:
    return {
        "object": "provider",
        "name": row.name,
        "kind": row.kind,
        "base_url": row.base_url,
        "has_api_key": bool(row.api_key_encrypted or row.api_key_env),
        "api_key_env": row.api_key_env,
        "timeout_s": row.timeout_s,
        **{name: getattr(row, name) for name in TIMEOUTS},
        "enabled": row.enabled,
        "source": row.source,
    }


def check_base_url(url: Any, kind: str) -> str | None:
    if kind == "echo":
        return None
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"base_url is required for kind '{kind}'", param="base_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("base_url must be an http(s) URL", param="base_url")
    return url.rstrip("/")


def _provider_fields(data: dict[str, Any], box: SecretBox, partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "kind" in data or not partial:
        kind = data.get("kind")
        if kind not in PROVIDER_KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(PROVIDER_KINDS)}", param="kind")
        fields["kind"] = kind
    if "base_url" in data or not partial:
        fields["base_url"] = check_base_url(data.get("base_url"), data.get("kind", "openai"))
    if "api_key" in data:
        key = data["api_key"]
        if key is not None and not isinstance(key, str):
            raise InvalidRequest("api_key must be a string", param="api_key")
        if key and key.startswith("env:"):
            fields["api_key_env"], fields["api_key_encrypted"] = key[4:], None
        else:
            fields["api_key_env"] = None
            fields["api_key_encrypted"] = box.encrypt(key) if key else None
    if "timeout_s" in data:
        timeout = data["timeout_s"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidRequest("timeout_s must be a positive number", param="timeout_s")
        fields["timeout_s"] = float(timeout)
    for name in TIMEOUTS:  # unset: derived from timeout_s (see catalog.entries)
        if name in data:
            value = data[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise InvalidRequest(f"{name} must be a positive number", param=name)
            fields[name] = float(value) if value is not None else None
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidRequest("enabled must be a boolean", param="enabled")
        fields["enabled"] = data["enabled"]
    return fields


async def upsert_provider(
    session: AsyncSession,
    data: dict[str, Any],
    box: SecretBox,
    *,
    source: str,
    create_only: bool = False,
) -> db.Provider:
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}", name):
        raise InvalidRequest("name must be 1-100 letters, digits, '.', '_' or '-'", param="name")
    row = await session.scalar(select(db.Provider).where(db.Provider.name == name))
    if row is not None and create_only:
        raise Conflict(f"a provider named '{name}' already exists", param="name")
    fields = _provider_fields(data, box, partial=False)
    now = datetime.now(UTC)
    if row is None:
        row = db.Provider(name=name, created_at=now, timeout_s=600.0, enabled=True)
        session.add(row)
    for key, value in fields.items():
        setattr(row, key, value)
    row.source, row.updated_at = source, now
    await session.flush()
    await versions.bump(session, versions.CATALOG)
    return row


async def update_provider(
    session: AsyncSession, name: str, data: dict[str, Any], box: SecretBox
) -> db.Provider:
    row = await get_provider(session, name)
    merged = {"kind": row.kind, "base_url": row.base_url, **data}
    fields = _provider_fields(merged, box, partial=True)
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = datetime.now(UTC)
    await versions.bump(session, versions.CATALOG)
    await session.flush()
    return row


async def get_provider(session: AsyncSession, name: str) -> db.Provider:
    row = await session.scalar(select(db.Provider).where(db.Provider.name == name))
    if row is None:
        raise NotFound(f"provider '{name}' not found")
    return row


async def delete_provider(session: AsyncSession, name: str) -> None:
    row = await get_provider(session, name)
    await session.delete(row)
    await versions.bump(session, versions.CATALOG)


async def list_providers(session: AsyncSession) -> list[db.Provider]:
    return list((await session.scalars(select(db.Provider).order_by(db.Provider.name))).all())
