"""Builds the in-memory catalog from the database (models, routes, providers, bots)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounting.pricing import Pricing, PricingError
from patchbay.catalog.entries import ModelEntry, ProviderEntry, RouteEntry
from patchbay.db import models as db
from patchbay.security.crypto import SecretBox

log = logging.getLogger("patchbay.catalog")

BOT_KINDS = {"chat_completions_api": "openai", "responses_api": "openai-responses"}


@dataclass(slots=True)
class Catalog:
    models: dict[str, ModelEntry] = field(default_factory=dict)
    providers: dict[str, ProviderEntry] = field(default_factory=dict)

    def get(self, model_id: str) -> ModelEntry | None:
        return self.models.get(model_id)


def _prices(model_id: str, raw: dict[str, Any] | None) -> Pricing:
    try:
        return Pricing.parse(raw)
    except PricingError:
        log.error("model %s has invalid pricing; it is refused until fixed", model_id)
        return Pricing(request=Decimal("1000000"))


def _provider_key(row: db.Provider, box: SecretBox) -> str | None:
    if row.api_key_env:
        value = os.environ.get(row.api_key_env)
        if value is None:
            log.warning(
                "provider %s: environment variable %s is not set", row.name, row.api_key_env
            )
        return value
    if row.api_key_encrypted:
        return box.decrypt(row.api_key_encrypted)
    return None


def _provider_entry(row: db.Provider, box: SecretBox) -> ProviderEntry:
    return ProviderEntry(
        name=row.name,
        kind=row.kind,
        base_url=row.base_url,
        api_key=_provider_key(row, box),
        timeout_s=row.timeout_s,
        enabled=row.enabled,
        connect_timeout_s=row.connect_timeout_s,
        first_byte_timeout_s=row.first_byte_timeout_s,
        idle_timeout_s=row.idle_timeout_s,
    )


def _bot_entry(bot: db.Bot, box: SecretBox) -> ModelEntry:
    settings = bot.api_bot_settings or {}
    provider = ProviderEntry(
        name=f"bot:{bot.handle}",
        kind=BOT_KINDS.get(settings.get("api_type") or "chat_completions_api", "openai"),
        base_url=settings.get("base_url"),
        api_key=box.decrypt(bot.api_key_encrypted) if bot.api_key_encrypted else None,
        timeout_s=float(settings.get("timeout_s") or 600.0),
        user_owned=True,
    )
    upstream_model = settings.get("model_name") or bot.handle
    details = {k: v for k, v in settings.items() if k not in {"pricing", "base_url", "model_name"}}
    return ModelEntry(
        id=bot.handle,
        owned_by=f"account:{bot.account_id}",
        created=int(bot.created_at.timestamp() * 1000),
        routes=(RouteEntry(provider, upstream_model),),
        description=bot.description,
        is_public=not bot.is_private,
        owner_account_id=bot.account_id,
        pricing=settings.get("pricing"),
        details=details,
        prices=_prices(bot.handle, settings.get("pricing")),
    )


async def load_catalog(session: AsyncSession, box: SecretBox) -> Catalog:
    catalog = Catalog()
    providers_by_id: dict[int, ProviderEntry] = {}
    for row in (await session.scalars(select(db.Provider))).all():
        entry = _provider_entry(row, box)
        providers_by_id[row.id] = entry
        catalog.providers[entry.name] = entry
    routes: dict[str, list[RouteEntry]] = {}
    route_rows = await session.scalars(select(db.ModelRoute).order_by(db.ModelRoute.position))
    for route_row in route_rows.all():
        provider = providers_by_id.get(route_row.provider_id)
        if provider is not None and provider.enabled:
            route = RouteEntry(
                provider,
                route_row.upstream_model,
                route_row.weight,
                max_concurrency=route_row.max_concurrency,
            )
            routes.setdefault(route_row.model_id, []).append(route)
    for model in (await session.scalars(select(db.Model).where(db.Model.enabled))).all():
        catalog.models[model.id] = ModelEntry(
            id=model.id,
            owned_by=model.owned_by,
            created=model.created,
            routes=tuple(routes.get(model.id, ())),
            description=model.description,
            is_public=model.is_public,
            priority=model.priority,
            pricing=model.pricing,
            details=dict(model.details or {}),
            prices=_prices(model.id, model.pricing),
        )
    for bot in (await session.scalars(select(db.Bot))).all():
        catalog.models[bot.handle] = _bot_entry(bot, box)
    return catalog
