"""``POST /v1/embeddings``: OpenAI embeddings, float or base64 (the SDK's default)."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply


async def create(exchange: Exchange) -> Reply:
    return await serve(exchange, "embeddings", "/embeddings")
