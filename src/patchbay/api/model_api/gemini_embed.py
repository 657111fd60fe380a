"""Gemini's ``:embedContent`` and ``:batchEmbedContents`` (``/v1beta/models/{model}:…``, also
under ``/v1/models/``), served on any kind that serves embeddings: the body is translated to
an OpenAI embeddings request (kept as sent for a Gemini upstream) and the answer rendered back
in Gemini's shape, errors in Gemini's envelope."""

from __future__ import annotations

from functools import partial

from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.api.model_api.common import calls
from patchbay.asgi.replies import Reply
from patchbay.errors import GatewayError
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.gemini import gemini_answer, openai_body

METHODS = ("embedContent", "batchEmbedContents")


async def embed(exchange: Exchange) -> Reply:
    model, _, method = exchange.path_params["target"].rpartition(":")
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        request = EndpointRequest(
            "embeddings",
            "/embeddings",
            model,
            openai_body(body, method, model),
            native=body,
            native_method=method,
        )
        render = partial(gemini_answer, method=method)
        return await calls(exchange).serve(principal, request, exchange.body_size, render=render)
    except GatewayError as exc:
        return error_response(exc, "gemini")
