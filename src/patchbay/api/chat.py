"""``POST /v1/chat/completions``: the OpenAI Chat Completions edge."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.gate import open_call
from patchbay.api.http import Reply, error_response
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.openai_chat.validate import validate_request
from patchbay.services.access import authorize
from patchbay.services.calls import Call


def _max_tokens(body: dict[str, object]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) else None


async def chat_completions(exchange: Exchange) -> Reply:
    gateway = exchange.gateway
    call: Call | None = None
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        try:
            validate_request(body)
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
        model = authorize(principal, gateway.catalog.get(body["model"]), body["model"])
        call, headers = await open_call(
            gateway,
            principal,
            model,
            protocol="openai_chat",
            stream=body.get("stream") is True,
            body_size=exchange.body_size,
            max_output_tokens=_max_tokens(body),
        )
        reply = await gateway.proxy.chat_completions(call, body)
        reply.add_raw_headers(headers)
        return reply
    except RequestInvalid as exc:
        if call is not None:
            gateway.meter.settle(call)
        return error_response(InvalidRequest(exc.message, param=exc.param), "openai")
    except GatewayError as exc:
        if call is not None:
            gateway.meter.settle(call)
        return error_response(exc, "openai")
