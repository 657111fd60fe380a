"""``POST /v1/chat/completions``: the OpenAI Chat Completions edge."""

from __future__ import annotations

from functools import partial
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.api.edge import handle
from patchbay.api.exchange import Exchange
from patchbay.asgi.replies import Reply
from patchbay.domain.requests import ChatRequest
from patchbay.protocols.openai_chat import decode, encode, stream
from patchbay.protocols.openai_chat.validate import validate_request
from patchbay.proxy.inbound import Edge, Inbound

EDGES = {
    include: Edge(
        encode.encode_response,
        partial(stream.StreamEncoder, include_usage=include),
        with_cost=True,
    )
    for include in (True, False)
}


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) else None


def _decode(inbound: Inbound) -> ChatRequest:
    return decode.decode_request(inbound.body)


def read(exchange: Exchange, body: dict[str, Any], principal: Principal) -> Inbound:
    validate_request(body)
    options = body.get("stream_options")
    include = isinstance(options, dict) and options.get("include_usage") is True
    return Inbound(
        "openai_chat",
        body["model"],
        body,
        body.get("stream") is True,
        exchange.body_size,
        _max_tokens(body),
        EDGES[include],
        _decode,
    )


async def chat_completions(exchange: Exchange) -> Reply:
    return await handle(exchange, read, "openai")
