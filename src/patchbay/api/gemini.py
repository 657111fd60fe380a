"""``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.api import count_tokens
from patchbay.api.edge import handle, positive_int, require
from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.asgi.replies import Reply
from patchbay.domain.requests import ChatRequest
from patchbay.errors import NotFound
from patchbay.protocols.gemini import decode, encode, stream
from patchbay.proxy.inbound import Edge, Inbound

METHODS = ("generateContent", "streamGenerateContent")
EDGES = {
    framing: Edge(
        encode.encode_response,
        partial(stream.StreamEncoder, framing=framing),
    )
    for framing in ("sse", "json-array")
}


def _decode(inbound: Inbound) -> ChatRequest:
    request = decode.decode_request(inbound.body, model=inbound.model)
    return replace(request, stream=inbound.stream)


def read(exchange: Exchange, body: dict[str, Any], principal: Principal) -> Inbound:
    model, _, method = exchange.path_params["target"].rpartition(":")
    require(isinstance(body.get("contents"), list), "contents must be an array", "contents")
    config = body.get("generationConfig")
    require(
        config is None or isinstance(config, dict),
        "generationConfig must be an object",
        "generationConfig",
    )
    limit = (config or {}).get("maxOutputTokens")
    streaming = method == "streamGenerateContent"
    framing = "sse" if exchange.query.get("alt") == "sse" or not streaming else "json-array"
    return Inbound(
        "gemini",
        model,
        body,
        streaming,
        exchange.body_size,
        limit if positive_int(limit) else None,
        EDGES[framing],
        _decode,
        framing=framing,
        stream_media_type=b"application/json" if framing == "json-array" else None,
    )


async def generate(exchange: Exchange) -> Reply:
    model, _, method = exchange.path_params["target"].rpartition(":")
    if method == "countTokens" and model:
        return await count_tokens.gemini(exchange, model)
    if method not in METHODS or not model:
        return error_response(NotFound(f"no such method: {method or model}"), "gemini")
    return await handle(exchange, read, "gemini")
