"""``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``."""

from __future__ import annotations

from dataclasses import replace

from patchbay.api.exchange import Exchange
from patchbay.api.gate import serve
from patchbay.api.http import Reply, error_response
from patchbay.domain.events import Finish, StreamError, StreamEvent
from patchbay.errors import GatewayError, InvalidRequest, NotFound
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.gemini import decode, encode, stream
from patchbay.services.proxy import Edge


class JSONArrayEncoder:
    """Without ``alt=sse`` Gemini streams one JSON array of chunks; re-frame the SSE chunks."""

    def __init__(self, model: str) -> None:
        self.inner = stream.StreamEncoder(model=model)
        self.first = True

    def encode(self, event: StreamEvent) -> bytes:
        frames = self.inner.encode(event)
        out = b""
        for chunk in frames.split(b"\r\n\r\n"):
            if chunk.startswith(b"data: "):
                out += (b"[" if self.first else b",") + chunk[6:]
                self.first = False
        if isinstance(event, Finish | StreamError):
            out += b"[]" if self.first else b"]"
        return out


SSE_EDGE = Edge(encode.encode_response, lambda model: stream.StreamEncoder(model=model))
ARRAY_EDGE = Edge(encode.encode_response, JSONArrayEncoder, stream_media_type="application/json")


async def generate(exchange: Exchange) -> Reply:
    gateway = exchange.gateway
    target: str = exchange.path_params["target"]
    model, _, method = target.rpartition(":")
    try:
        if method not in ("generateContent", "streamGenerateContent") or not model:
            raise NotFound(f"no such method: {method or target}")
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        try:
            canonical = decode.decode_request(body, model=model)
        except RequestInvalid as exc:
            raise InvalidRequest(exc.message, param=exc.param) from None
        streaming = method == "streamGenerateContent"
        canonical = replace(canonical, stream=streaming)
        edge = SSE_EDGE if exchange.query.get("alt") == "sse" or not streaming else ARRAY_EDGE
        return await serve(
            gateway,
            principal,
            canonical,
            edge,
            protocol="gemini",
            body_size=exchange.body_size,
        )
    except GatewayError as exc:
        return error_response(exc, "gemini")
