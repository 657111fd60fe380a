"""``/usage/current_balance`` and ``/usage/points_history`` (seed 002)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from patchbay.accounts import usage_history
from patchbay.api.http import client_key, error_response
from patchbay.asgi.replies import JSONReply, json_reply
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.runtime.gateway import Gateway


async def current_balance(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = await gateway.keys.authenticate(client_key(request))
    except GatewayError as exc:
        return error_response(exc, "openai")
    balance = gateway.meter.book.available(principal.account_id)
    held = gateway.meter.book.accounts[principal.account_id].holds
    return json_reply({"current_point_balance": balance + held})


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InvalidRequest("limit must be an integer from 1 to 100", param="limit")
    return int(raw)


async def points_history(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        limit = _limit(request.query_params.get("limit"))
        cursor = request.query_params.get("starting_after") or None
        await gateway.meter.flush()  # this instance's settled calls are visible at once
        async with gateway.sessions() as session:
            rows, more = await usage_history.page(
                session,
                principal.account_id,
                limit=limit,
                starting_after=cursor,
                retention_days=gateway.settings.usage_retention_days,
            )
    except GatewayError as exc:
        return error_response(exc, "openai")
    data = []
    for row in rows:
        entry = usage_history.entry_json(row)
        entry["cost_usd"] = orjson.Fragment(row.cost_usd.encode())
        data.append(entry)
    body = {
        "data": data,
        "has_more": more,
        "next_cursor": rows[-1].query_id if more and rows else None,
    }
    return JSONReply(orjson.dumps(body))
