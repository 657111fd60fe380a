"""``POST /v1/moderations`` (``model`` is optional, as in OpenAI's API)."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply

DEFAULT_MODEL = "omni-moderation-latest"


async def create(exchange: Exchange) -> Reply:
    return await serve(exchange, "moderations", "/moderations", default_model=DEFAULT_MODEL)
