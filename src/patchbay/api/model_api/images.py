"""``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (a form with one or
more ``image``/``image[]`` files and an optional ``mask``, or JSON with image references).
Charged ``pricing.image`` per image returned, plus any token usage the upstream reports."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply


async def generations(exchange: Exchange) -> Reply:
    return await serve(exchange, "images", "/images/generations")


async def edits(exchange: Exchange) -> Reply:
    return await serve(exchange, "images", "/images/edits")
