"""``POST /v1/responses``, ``GET`` and ``DELETE /v1/responses/{id}``: the Responses edge.

With ``store`` (the default) the conversation is kept after the answer completes, off the
request path; ``previous_response_id`` prepends a kept conversation, whatever upstream served it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from patchbay.api.exchange import Exchange
from patchbay.api.gate import serve
from patchbay.api.http import Reply, client_key, error_response, json_response
from patchbay.domain.messages import Message
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.protocols.common import new_id
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.openai_responses import decode, encode, stream
from patchbay.providers.openai_responses import output_parts
from patchbay.services import conversations
from patchbay.services.gateway import Gateway
from patchbay.services.proxy import Edge

log = logging.getLogger("patchbay.responses")
_saving: set[asyncio.Task[None]] = set()


def _keep(
    gateway: Gateway,
    account_id: int,
    model: str,
    history: tuple[Message, ...],
    response: dict[str, Any],
) -> None:
    answer = Message("assistant", tuple(output_parts(response.get("output") or [])))

    async def write() -> None:
        try:
            async with gateway.sessions() as session, session.begin():
                await conversations.save(session, account_id, model, (*history, answer), response)
        except Exception:
            log.warning("could not store response %s", response.get("id"), exc_info=True)

    task = asyncio.create_task(write())
    _saving.add(task)
    task.add_done_callback(_saving.discard)


def _edge(gateway: Gateway, account_id: int, request: ChatRequest, store: bool) -> Edge:
    response_id = new_id("resp_")

    def kept(response: dict[str, Any]) -> None:
        if store:
            _keep(gateway, account_id, request.model, request.messages, response)

    def whole(answer: ChatResponse) -> dict[str, Any]:
        return encode.encode_response(answer, response_id)

    def on_answer(answer: ChatResponse, data: dict[str, Any]) -> None:
        kept(orjson.loads(orjson.dumps(data)))  # plain JSON values (the cost is a Fragment)

    return Edge(
        whole,
        lambda model: stream.StreamEncoder(model=model, response_id=response_id, on_complete=kept),
        with_cost=True,
        on_answer=on_answer,
    )


async def _history(gateway: Gateway, account_id: int, previous: Any) -> tuple[Message, ...]:
    if previous is None:
        return ()
    if not isinstance(previous, str):
        raise InvalidRequest("previous_response_id must be a string", param="previous_response_id")
    async with gateway.sessions() as session:
        row = await conversations.load(session, account_id, previous)
    return conversations.messages_from_json(row.conversation.get("messages") or [])


async def create(exchange: Exchange) -> Reply:
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        try:
            canonical = decode.decode_request(body)
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
        history = await _history(gateway, principal.account_id, body.get("previous_response_id"))
        canonical = replace(canonical, messages=history + canonical.messages)
        edge = _edge(gateway, principal.account_id, canonical, body.get("store") is not False)
        return await serve(
            gateway,
            principal,
            canonical,
            edge,
            protocol="openai_responses",
            body_size=exchange.body_size,
        )
    except GatewayError as exc:
        return error_response(exc, "openai")


async def retrieve(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        async with gateway.sessions() as session:
            row = await conversations.load(
                session, principal.account_id, request.path_params["response_id"]
            )
        return json_response(row.response)
    except GatewayError as exc:
        exc.param = None
        return error_response(exc, "openai")


async def remove(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    response_id = request.path_params["response_id"]
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        async with gateway.sessions() as session, session.begin():
            await conversations.remove(session, principal.account_id, response_id)
        return json_response({"id": response_id, "object": "response.deleted", "deleted": True})
    except GatewayError as exc:
        exc.param = None
        return error_response(exc, "openai")
