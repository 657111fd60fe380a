"""Catalog models and their routes: validation and storage (admin API and TOML file)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounting.pricing import Pricing, PricingError
from patchbay.catalog.endpoints import parse_endpoints
from patchbay.db import models as db
from patchbay.db import versions
from patchbay.errors import Conflict, InvalidRequest, NotFound

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}$")
COLUMNS = {
    "id",
    "owned_by",
    "description",
    "created",
    "is_public",
    "priority",
    "pricing",
    "routes",
    "enabled",
}


def _pricing(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest("pricing must be an object of decimal strings", param="pricing")
    try:
        return Pricing.parse(value).to_json()
    except PricingError as exc:
        raise InvalidRequest(str(exc), param="pricing") from None


STRATEGIES = ("weighted", "ordered", "least_inflight")
Route = tuple[int, str, int, int | None]  # provider id, upstream model, weight, concurrency cap


async def _routes(session: AsyncSession, routes: Any) -> list[Route]:
    if not isinstance(routes, list):
        raise InvalidRequest("routes must be a list", param="routes")
    resolved = []
    for index, route in enumerate(routes):
        param = f"routes[{index}]"
        if not isinstance(route, dict) or not isinstance(route.get("provider"), str):
            raise InvalidRequest("each route needs a provider name", param=param)
        provider = await session.scalar(
            select(db.Provider.id).where(db.Provider.name == route["provider"])
        )
        if provider is None:
            raise InvalidRequest(f"unknown provider '{route['provider']}'", param=param)
        upstream = route.get("model")
        if not isinstance(upstream, str) or not upstream:
            raise InvalidRequest("each route needs an upstream model name", param=param)
        weight = route.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise InvalidRequest("weight must be a non-negative integer", param=param)
        cap = route.get("max_concurrency")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise InvalidRequest("max_concurrency must be a positive integer", param=param)
        resolved.append((provider, upstream, weight, cap))
    return resolved


def _apply(row: db.Model, data: dict[str, Any]) -> None:
    for name in ("owned_by", "description"):
        if name in data:
            if data[name] is not None and not isinstance(data[name], str):
                raise InvalidRequest(f"{name} must be a string", param=name)
            setattr(row, name, data[name] if name != "owned_by" else data[name] or "patchbay")
    for name, kind in (("is_public", bool), ("enabled", bool), ("priority", int)):
        if name in data:
            if not isinstance(data[name], kind) or (kind is int and isinstance(data[name], bool)):
                raise InvalidRequest(f"{name} must be a {kind.__name__}", param=name)
            setattr(row, name, data[name])
    if "pricing" in data:
        row.pricing = _pricing(data["pricing"])
    if "strategy" in data and data["strategy"] not in (None, *STRATEGIES):
        raise InvalidRequest(f"strategy must be one of {', '.join(STRATEGIES)}", param="strategy")
    details = dict(row.details or {})
    details.update({k: v for k, v in data.items() if k not in COLUMNS})
    if "endpoints" in data:
        endpoints = parse_endpoints(data["endpoints"])
        if endpoints is None:
            details.pop("endpoints", None)
        else:
            details["endpoints"] = endpoints
    row.details = details


async def upsert_model(
    session: AsyncSession, data: dict[str, Any], *, source: str, create_only: bool = False
) -> db.Model:
    model_id = data.get("id")
    if not isinstance(model_id, str) or not MODEL_ID.match(model_id):
        raise InvalidRequest("id must be 1-200 letters, digits, '.', '_', ':' or '-'", param="id")
    row = await session.get(db.Model, model_id)
    if row is not None and create_only:
        raise Conflict(f"a model '{model_id}' already exists", param="id")
    if await session.get(db.Bot, model_id) is not None:
        raise Conflict(f"'{model_id}' is already a bot handle", param="id")
    now = datetime.now(UTC)
    if row is None:
        created = data.get("created")
        row = db.Model(
            id=model_id,
            created=created if isinstance(created, int) else int(time.time() * 1000),
            owned_by="patchbay",
            details={},
            is_public=True,
            enabled=True,
            priority=0,
        )
        session.add(row)
    _apply(row, data)
    row.source, row.updated_at = source, now
    if "routes" in data:
        await set_routes(session, model_id, await _routes(session, data["routes"]))
    await session.flush()
    await versions.bump(session, versions.CATALOG)
    return row


async def set_routes(session: AsyncSession, model_id: str, routes: list[Route]) -> None:
    await session.execute(delete(db.ModelRoute).where(db.ModelRoute.model_id == model_id))
    for position, (provider_id, upstream, weight, cap) in enumerate(routes):
        session.add(
            db.ModelRoute(
                model_id=model_id,
                provider_id=provider_id,
                upstream_model=upstream,
                weight=weight,
                position=position,
                max_concurrency=cap,
            )
        )


async def update_model(session: AsyncSession, model_id: str, data: dict[str, Any]) -> db.Model:
    await get_model(session, model_id)
    return await upsert_model(session, {**data, "id": model_id}, source="api")


async def get_model(session: AsyncSession, model_id: str) -> db.Model:
    row = await session.get(db.Model, model_id)
    if row is None:
        raise NotFound(f"model '{model_id}' not found")
    return row


async def delete_model(session: AsyncSession, model_id: str) -> None:
    await session.delete(await get_model(session, model_id))
    await versions.bump(session, versions.CATALOG)


async def list_models(session: AsyncSession) -> list[db.Model]:
    return list((await session.scalars(select(db.Model).order_by(db.Model.id))).all())


async def model_json(session: AsyncSession, row: db.Model) -> dict[str, Any]:
    routes = (
        await session.execute(
            select(db.ModelRoute, db.Provider.name)
            .join(db.Provider, db.Provider.id == db.ModelRoute.provider_id)
            .where(db.ModelRoute.model_id == row.id)
            .order_by(db.ModelRoute.position)
        )
    ).all()
    return {
        "object": "model",
        "id": row.id,
        "owned_by": row.owned_by,
        "description": row.description,
        "created": row.created,
        "is_public": row.is_public,
        "enabled": row.enabled,
        "priority": row.priority,
        "pricing": row.pricing,
        **(row.details or {}),
        "routes": [
            {"provider": name, "model": r.upstream_model, "weight": r.weight}
            | ({"max_concurrency": r.max_concurrency} if r.max_concurrency else {})
            for r, name in routes
        ],
        "source": row.source,
    }
