"""``/admin/...``: accounts, credit, keys, providers and models (admin key only)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounts import accounts
from patchbay.accounts.keystore import Principal
from patchbay.api.admin_schemas import AccountCreate, Credit, KeyCreate
from patchbay.api.http import client_key
from patchbay.catalog import models as catalog_models
from patchbay.catalog import providers as catalog_providers
from patchbay.errors import PermissionDenied
from patchbay.runtime.gateway import Gateway


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def require_admin(request: Request) -> Principal:
    principal = await gateway_of(request).keys.authenticate(client_key(request))
    if not principal.is_admin:
        error = PermissionDenied("this endpoint needs an admin key")
        error.code = "admin_required"
        raise error
    return principal


async def session_scope(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per admin request, rolled back unless the endpoint calls ``applied``."""
    async with gateway_of(request).sessions() as session:
        yield session


async def applied(request: Request, session: AsyncSession) -> None:
    """Commit, then refresh this worker's caches before the response is sent (other workers
    follow through the cluster version counters)."""
    await session.commit()
    gateway = gateway_of(request)
    await gateway.reload_catalog()
    await gateway.meter.reload()
    gateway.keys.invalidate()
    await gateway.announce()


Session = Annotated[AsyncSession, Depends(session_scope)]
JSONBody = Annotated[dict[str, Any], Body()]
router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": items}


@router.post("/accounts", status_code=201)
async def create_account(body: AccountCreate, request: Request, session: Session) -> dict[str, Any]:
    account = await accounts.create_account(session, body.name, body.role, body.points)
    result = accounts.account_json(account)
    await applied(request, session)
    return result


@router.get("/accounts")
async def list_accounts(session: Session) -> dict[str, Any]:
    return listing([accounts.account_json(a) for a in await accounts.list_accounts(session)])


@router.get("/accounts/{account_id}")
async def get_account(account_id: int, session: Session) -> dict[str, Any]:
    return accounts.account_json(await accounts.get_account(session, account_id))


@router.post("/accounts/{account_id}/credit")
async def credit(
    account_id: int, body: Credit, request: Request, session: Session
) -> dict[str, Any]:
    account = await accounts.get_account(session, account_id)
    result = accounts.account_json(await accounts.credit(session, account, body.points, body.note))
    await applied(request, session)
    await gateway_of(request).meter.credited(account_id, body.points)  # the instances' book
    return result


@router.post("/accounts/{account_id}/keys", status_code=201)
async def create_key(
    account_id: int, body: KeyCreate, request: Request, session: Session
) -> dict[str, Any]:
    account = await accounts.get_account(session, account_id)
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    new = await accounts.create_key(
        session,
        account,
        name=body.name,
        rpm=body.rpm or gateway_of(request).settings.default_rpm,
        allowed_models=body.allowed_models,
        tpm=body.tpm,
        max_points=body.max_points,
        expires_at=expires,
    )
    result = {**accounts.key_json(new.record), "key": new.secret}
    await applied(request, session)
    return result


@router.get("/accounts/{account_id}/keys")
async def list_account_keys(account_id: int, session: Session) -> dict[str, Any]:
    await accounts.get_account(session, account_id)
    return listing([accounts.key_json(k) for k in await accounts.list_keys(session, account_id)])


@router.get("/keys")
async def list_keys(session: Session) -> dict[str, Any]:
    return listing([accounts.key_json(k) for k in await accounts.list_keys(session)])


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, request: Request, session: Session) -> dict[str, Any]:
    """Any id that names no key, a number or not, is a 404."""
    result = accounts.key_json(await accounts.revoke_key(session, key_id))
    await applied(request, session)
    return result


@router.post("/providers", status_code=201)
async def create_provider(body: JSONBody, request: Request, session: Session) -> dict[str, Any]:
    row = await catalog_providers.upsert_provider(
        session, body, gateway_of(request).box, source="api", create_only=True
    )
    result = catalog_providers.provider_json(row)
    await applied(request, session)
    return result


@router.get("/providers")
async def list_providers(session: Session) -> dict[str, Any]:
    rows = await catalog_providers.list_providers(session)
    return listing([catalog_providers.provider_json(r) for r in rows])


@router.get("/providers/{name}")
async def get_provider(name: str, session: Session) -> dict[str, Any]:
    return catalog_providers.provider_json(await catalog_providers.get_provider(session, name))


@router.patch("/providers/{name}")
async def update_provider(
    name: str, body: JSONBody, request: Request, session: Session
) -> dict[str, Any]:
    row = await catalog_providers.update_provider(session, name, body, gateway_of(request).box)
    result = catalog_providers.provider_json(row)
    await applied(request, session)
    return result


@router.delete("/providers/{name}")
async def delete_provider(name: str, request: Request, session: Session) -> dict[str, Any]:
    await catalog_providers.delete_provider(session, name)
    result = {"object": "provider", "name": name, "deleted": True}
    await applied(request, session)
    return result


@router.post("/models", status_code=201)
async def create_model(body: JSONBody, request: Request, session: Session) -> dict[str, Any]:
    row = await catalog_models.upsert_model(session, body, source="api", create_only=True)
    result = await catalog_models.model_json(session, row)
    await applied(request, session)
    return result


@router.get("/models")
async def list_models(session: Session) -> dict[str, Any]:
    rows = await catalog_models.list_models(session)
    return listing([await catalog_models.model_json(session, r) for r in rows])


@router.get("/models/{model_id}")
async def get_model(model_id: str, session: Session) -> dict[str, Any]:
    model = await catalog_models.get_model(session, model_id)
    return await catalog_models.model_json(session, model)


@router.patch("/models/{model_id}")
async def update_model(
    model_id: str, body: JSONBody, request: Request, session: Session
) -> dict[str, Any]:
    row = await catalog_models.update_model(session, model_id, body)
    result = await catalog_models.model_json(session, row)
    await applied(request, session)
    return result


@router.delete("/models/{model_id}")
async def delete_model(model_id: str, request: Request, session: Session) -> dict[str, Any]:
    await catalog_models.delete_model(session, model_id)
    result = {"object": "model", "id": model_id, "deleted": True}
    await applied(request, session)
    return result


@router.get("/routes")
async def route_health(request: Request) -> dict[str, Any]:
    """Every route of every model with its health as this worker sees it (shared across
    workers and instances through Redis when configured)."""
    gateway = gateway_of(request)
    now = time.time()
    health = gateway.pipeline.health.snapshot(now)
    items = []
    for model in sorted(gateway.catalog.models.values(), key=lambda m: m.id):
        for route in model.routes:
            state = health.get(route.key) or {
                "state": "closed",
                "consecutive_failures": 0,
                "failures": 0,
                "recent_failure_rate": 0.0,
                "cooldown_until": None,
                "in_flight": 0,
                "last_error": None,
            }
            until = state["cooldown_until"]
            items.append(
                {
                    "object": "route",
                    "model": model.id,
                    "strategy": model.strategy,
                    "provider": route.provider.name,
                    "upstream_model": route.upstream_model,
                    "weight": route.weight,
                    "max_concurrency": route.max_concurrency,
                    **state,
                    "cooldown_until": (
                        accounts.rfc3339(datetime.fromtimestamp(until, UTC)) if until else None
                    ),
                }
            )
    return listing(items)
