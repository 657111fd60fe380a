"""``POST /v1/completions``: legacy text completions, whole or streamed (usage is asked of the
upstream on streams, and given to the client when it asked for it)."""

from __future__ import annotations

from typing import Any

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply

DEFAULT_MAX_TOKENS = 16  # OpenAI's default for this endpoint


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MAX_TOKENS


async def create(exchange: Exchange) -> Reply:
    return await serve(exchange, "completions", "/completions", max_output=_max_tokens)
