"""Redemption codes over HTTP: ``/admin/redemptions`` (admin key only: create, list) and
``POST /usage/redeem {"code"}`` (any key: top up its own account, once per code)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StrictInt, StrictStr

from patchbay.accounts import redemptions
from patchbay.api.admin import Session, gateway_of, listing, require_admin
from patchbay.api.admin_schemas import Strict
from patchbay.api.http import client_key
from patchbay.runtime.gateway import Gateway

admin_router = APIRouter(prefix="/admin/redemptions", dependencies=[Depends(require_admin)])
router = APIRouter()


class CodesCreate(Strict):
    points: StrictInt = Field(ge=1, le=redemptions.MAX_POINTS)
    count: StrictInt = Field(default=1, ge=1, le=redemptions.MAX_COUNT)
    expires_at: datetime | None = None
    name: StrictStr | None = Field(default=None, max_length=200)


class Redeem(Strict):
    code: StrictStr = Field(min_length=1, max_length=200)


@admin_router.post("", status_code=201)
async def create_codes(body: CodesCreate, session: Session) -> dict[str, Any]:
    made = await redemptions.create_codes(
        session, points=body.points, count=body.count, expires_at=body.expires_at, name=body.name
    )
    data = [{**redemptions.code_json(m.record), "code": m.code} for m in made]
    await session.commit()
    return listing(data)


@admin_router.get("")
async def list_codes(
    session: Session,
    status: Annotated[str | None, Query(pattern="^(unused|used|disabled)$")] = None,
) -> dict[str, Any]:
    rows = await redemptions.list_codes(session, status=status)
    return listing([redemptions.code_json(r) for r in rows])


async def redeem_for(gateway: Gateway, account_id: int, code: str) -> dict[str, Any]:
    """Redeem in one transaction, then move this worker's balance at once (others follow the
    cluster's balance counter)."""
    async with gateway.sessions() as session:
        record = await redemptions.redeem(session, account_id, code)
        result = redemptions.code_json(record)
        await session.commit()
    await gateway.meter.credited(account_id, int(result["points"]))  # the instances' book
    await gateway.meter.reload()
    await gateway.announce()
    book = gateway.meter.book
    balance = book.available(account_id) + book.accounts[account_id].holds
    return {
        "object": "redemption",
        "points": result["points"],
        "code": result["hint"],
        "current_point_balance": balance,
    }


@router.post("/usage/redeem")
async def redeem(body: Redeem, request: Request) -> dict[str, Any]:
    gateway = gateway_of(request)
    principal = await gateway.keys.authenticate(client_key(request))
    return await redeem_for(gateway, principal.account_id, body.code)
