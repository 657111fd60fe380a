"""``POST /v1/rerank``: the Cohere/Jina shape most gateways serve — ``{"model", "query",
"documents", "top_n"}`` → ``{"results": [{"index", "relevance_score"}]}``."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply


async def create(exchange: Exchange) -> Reply:
    return await serve(exchange, "rerank", "/rerank")
