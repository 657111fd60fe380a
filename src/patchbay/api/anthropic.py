"""``POST /v1/messages``: the Anthropic Messages edge."""

from __future__ import annotations

from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.api.edge import handle, positive_int, require
from patchbay.api.exchange import Exchange
from patchbay.asgi.replies import Reply
from patchbay.domain.requests import ChatRequest
from patchbay.protocols.anthropic_messages import decode, encode, stream
from patchbay.proxy.inbound import Edge, Inbound

EDGE = Edge(encode.encode_response, lambda model: stream.StreamEncoder(model=model))
FORWARDED = (b"anthropic-version", b"anthropic-beta")


def _decode(inbound: Inbound) -> ChatRequest:
    return decode.decode_request(inbound.body)


def read(exchange: Exchange, body: dict[str, Any], principal: Principal) -> Inbound:
    model = body.get("model")
    require(isinstance(model, str) and bool(model), "model is required", "model")
    require(
        positive_int(body.get("max_tokens")),
        "max_tokens is required and must be a positive integer",
        "max_tokens",
    )
    require(isinstance(body.get("messages"), list), "messages must be an array", "messages")
    streaming = body.get("stream")
    require(streaming is None or isinstance(streaming, bool), "stream must be a boolean", "stream")
    headers: dict[str, str] = {}
    for name in FORWARDED:
        value = exchange.header(name)
        if value is not None:
            headers[name.decode()] = value
    return Inbound(
        "anthropic",
        str(model),
        body,
        streaming is True,
        exchange.body_size,
        body["max_tokens"],
        EDGE,
        _decode,
        forward_headers=headers or None,
    )


async def messages(exchange: Exchange) -> Reply:
    return await handle(exchange, read, "anthropic")
