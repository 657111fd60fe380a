"""``POST /v1/messages/count_tokens`` and Gemini's ``:countTokens`` (``proxy.counting``)."""

from __future__ import annotations

from typing import Any

from patchbay.api.edge import require
from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.asgi.replies import Reply
from patchbay.domain.requests import ChatRequest
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.protocols.anthropic_messages import decode as anthropic_decode
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.gemini import decode as gemini_decode
from patchbay.proxy.counting import count


async def messages(exchange: Exchange) -> Reply:
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        model = body.get("model")
        try:
            require(isinstance(model, str) and bool(model), "model is required", "model")
            require(isinstance(body.get("messages"), list), "messages must be an array", "messages")

            def decoded() -> ChatRequest:  # count_tokens takes no max_tokens
                return anthropic_decode.decode_request({"max_tokens": 1, **body})

            return await count(
                gateway.pipeline,
                principal,
                protocol="anthropic",
                model=str(model),
                body=body,
                decode=decoded,
                local_answer=lambda n: {"input_tokens": n},
            )
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
    except GatewayError as exc:
        return error_response(exc, "anthropic")


def _generate_request(body: dict[str, Any]) -> dict[str, Any]:
    """``countTokens`` takes ``contents`` or a whole ``generateContentRequest``."""
    inner = body.get("generateContentRequest") or body.get("generate_content_request")
    return inner if isinstance(inner, dict) else body


async def gemini(exchange: Exchange, model: str) -> Reply:
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        request = _generate_request(body)
        try:
            require(
                isinstance(request.get("contents", []), list),
                "contents must be an array",
                "contents",
            )
            return await count(
                gateway.pipeline,
                principal,
                protocol="gemini",
                model=model,
                body=body,
                decode=lambda: gemini_decode.decode_request(
                    {"contents": [], **request}, model=model
                ),
                local_answer=lambda n: {"totalTokens": n},
            )
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
    except GatewayError as exc:
        return error_response(exc, "gemini")
