"""``/bots``: the caller's account's API bots (seed 004). ``api_key`` is write-only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.accounts.keystore import Principal
from patchbay.api.admin import applied, gateway_of
from patchbay.api.http import client_key
from patchbay.catalog import bots


async def caller(request: Request) -> Principal:
    return await gateway_of(request).keys.authenticate(client_key(request))


async def session_scope(request: Request) -> AsyncIterator[AsyncSession]:
    async with gateway_of(request).sessions() as session:
        yield session


Caller = Annotated[Principal, Depends(caller)]
Session = Annotated[AsyncSession, Depends(session_scope)]
JSONBody = Annotated[dict[str, Any], Body()]
router = APIRouter(prefix="/bots")


@router.get("")
async def list_bots(who: Caller, session: Session) -> dict[str, Any]:
    return {"bots": [bots.bot_json(b) for b in await bots.list_bots(session, who.account_id)]}


@router.post("", status_code=201)
async def create_bot(
    body: JSONBody, who: Caller, request: Request, session: Session
) -> dict[str, Any]:
    settings = gateway_of(request).settings
    bot = await bots.create_bot(
        session, who.account_id, body, gateway_of(request).box, settings.allow_private_upstreams
    )
    result = bots.bot_json(bot)
    await applied(request, session)
    return result


@router.get("/{handle}")
async def get_bot(handle: str, who: Caller, session: Session) -> dict[str, Any]:
    return bots.bot_json(await bots.get_bot(session, who.account_id, handle))


@router.patch("/{handle}")
async def update_bot(
    handle: str, body: JSONBody, who: Caller, request: Request, session: Session
) -> dict[str, Any]:
    settings = gateway_of(request).settings
    bot = await bots.update_bot(
        session,
        who.account_id,
        handle,
        body,
        gateway_of(request).box,
        settings.allow_private_upstreams,
    )
    result = bots.bot_json(bot)
    await applied(request, session)
    return result


@router.delete("/{handle}")
async def delete_bot(
    handle: str, who: Caller, request: Request, session: Session
) -> dict[str, Any]:
    await bots.delete_bot(session, who.account_id, handle)
    await applied(request, session)
    return {"handle": handle, "deleted": True}
