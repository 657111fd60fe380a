"""Gemini's ``:embedContent`` and ``:batchEmbedContents`` (``/v1beta/models/{model}:…``, also
under ``/v1/models/``), served on any kind that serves embeddings: the body is translated to
an OpenAI embeddings request (kept as sent for a Gemini upstream) and the answer rendered back
in Gemini's shape, errors in Gemini's envelope."""

from __future__ import annotations

from functools import partial
from typing import Any

from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.api.model_api.common import calls
from patchbay.asgi.replies import Reply
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.gemini import gemini_answer, openai_body

METHODS = ("embedContent", "batchEmbedContents")


def check_contents(body: dict[str, Any], method: str) -> None:
    """Each request's ``content`` an object with an array of ``parts``, as the API takes it."""
    batch = method == "batchEmbedContents"
    items = body.get("requests") if batch else [body]
    if not isinstance(items, list):
        raise InvalidRequest("requests must be an array", param="requests")
    for index, item in enumerate(items):
        where = f"requests[{index}]" if batch else ""
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where} must be an object", param=where)
        content = item.get("content")
        parts = content.get("parts", []) if isinstance(content, dict) else None
        name = f"{where}.content" if where else "content"
        if content is not None and not isinstance(parts, list):
            raise InvalidRequest(f"{name} must be an object with an array of parts", param=name)
        dims = item.get("outputDimensionality")
        if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
            name = f"{where}.outputDimensionality" if where else "outputDimensionality"
            raise InvalidRequest(f"{name} must be a positive integer", param=name)


async def embed(exchange: Exchange) -> Reply:
    model, _, method = exchange.path_params["target"].rpartition(":")
    gateway = exchange.gateway
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        body = await exchange.json_object(gateway.settings.max_body_bytes)
        check_contents(body, method)
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
