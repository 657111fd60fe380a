"""``POST /v1/messages``: the Anthropic Messages edge."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from patchbay.api.gate import serve
from patchbay.api.http import client_key, error_response, read_json_object
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.protocols.anthropic_messages import decode, encode, stream
from patchbay.protocols.errors import RequestInvalid
from patchbay.services.gateway import Gateway
from patchbay.services.proxy import Edge

EDGE = Edge(encode.encode_response, lambda model: stream.StreamEncoder(model=model))


async def messages(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        principal = await gateway.keys.authenticate(client_key(request))
        body = await read_json_object(request, gateway.settings.max_body_bytes)
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
            body_size=request.state.body_size,
        )
    except GatewayError as exc:
        return error_response(exc, "anthropic")
