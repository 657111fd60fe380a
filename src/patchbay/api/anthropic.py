"""``POST /v1/messages``: the Anthropic Messages edge."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.gate import serve
from patchbay.api.http import Reply, error_response
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.protocols.anthropic_messages import decode, encode, stream
from patchbay.protocols.errors import RequestInvalid
from patchbay.services.proxy import Edge

EDGE = Edge(encode.encode_response, lambda model: stream.StreamEncoder(model=model))


async def messages(exchange: Exchange) -> Reply:
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        try:
            canonical = decode.decode_request(body)
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
        return await serve(
            gateway,
            principal,
            canonical,
            EDGE,
            protocol="anthropic",
            body_size=exchange.body_size,
        )
    except GatewayError as exc:
        return error_response(exc, "anthropic")
