"""``POST /v1/responses``, ``GET`` and ``DELETE /v1/responses/{id}``: the Responses edge.

With ``store`` (the default) the gateway keeps the conversation, saved before the answer's last
byte is sent (when the database is unreachable the answer is still sent, unsaved, and the
miss logged); ``previous_response_id`` continues a kept conversation whatever upstream served
it: the kept items are put in front of the input and the field is not forwarded.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from patchbay.accounts.keystore import Principal
from patchbay.api.edge import handle, is_outage, positive_int, require
from patchbay.api.exchange import Exchange
from patchbay.api.http import client_key, error_response
from patchbay.asgi.replies import JSONReply, Reply, json_reply
from patchbay.domain.requests import ChatRequest
from patchbay.errors import GatewayError
from patchbay.protocols.common import new_id
from patchbay.protocols.openai_responses import decode, encode, stream
from patchbay.proxy import conversations
from patchbay.proxy.inbound import Edge, Inbound, Keep
from patchbay.runtime.gateway import Gateway

log = logging.getLogger("patchbay")


def _edge(response_id: str) -> Edge:
    return Edge(
        lambda answer: encode.encode_response(answer, response_id),
        lambda model: stream.StreamEncoder(model=model, response_id=response_id),
        with_cost=True,
    )


def _keeper(gateway: Gateway, principal: Principal, model: str, items: list[Any]) -> Keep:
    async def keep(response: dict[str, Any]) -> None:
        try:
            await gateway.conversations.save(principal.account_id, model, items, response)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # the call is answered and settled: the client gets what it paid for, unsaved
            # (a follow-up naming this id is told it is not found)
            log.warning("response %s not stored: the database is unreachable", response.get("id"))

    return keep


def _decode(inbound: Inbound) -> ChatRequest:
    return decode.decode_request(inbound.body)


async def read(exchange: Exchange, body: dict[str, Any], principal: Principal) -> Inbound:
    model = body.get("model")
    require(isinstance(model, str) and bool(model), "model is required", "model")
    limit = body.get("max_output_tokens")
    require(
        limit is None or positive_int(limit),
        "max_output_tokens must be a positive integer",
        "max_output_tokens",
    )
    streaming = body.get("stream")
    require(streaming is None or isinstance(streaming, bool), "stream must be a boolean", "stream")
    gateway = exchange.gateway
    previous = body.get("previous_response_id")
    if previous is not None:
        require(
            isinstance(previous, str),
            "previous_response_id must be a string",
            "previous_response_id",
        )
        history = await gateway.conversations.history(principal.account_id, previous)
        body = {k: v for k, v in body.items() if k != "previous_response_id"}
        body["input"] = history + conversations.as_items(body.get("input"))
    keep = None
    if body.get("store") is not False:
        items = conversations.as_items(body.get("input"))
        keep = _keeper(gateway, principal, str(model), items)
    return Inbound(
        "openai_responses",
        str(model),
        body,
        streaming is True,
        exchange.body_size,
        limit,
        _edge(new_id("resp_")),
        _decode,
        keep=keep,
    )


async def create(exchange: Exchange) -> Reply:
    return await handle(exchange, read, "openai")


async def retrieve(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        async with gateway.sessions() as session:
            row = await conversations.load(
                session, principal.account_id, request.path_params["response_id"]
            )
        return json_reply(row.response)
    except GatewayError as exc:
        exc.param = None
        return error_response(exc, "openai")


async def remove(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    response_id = request.path_params["response_id"]
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        async with gateway.sessions() as session, session.begin():
            await conversations.remove(session, principal.account_id, response_id)
        return json_reply({"id": response_id, "object": "response.deleted", "deleted": True})
    except GatewayError as exc:
        exc.param = None
        return error_response(exc, "openai")
