"""Upstream kind → its adapter for the non-chat endpoints (``providers.endpoints``).

``openai`` and ``openai-responses`` upstreams are OpenAI-compatible servers and get every
endpoint forwarded; ``gemini`` serves embeddings and images by translation; ``echo`` serves
all of them in-process. A kind not listed here (``anthropic``) serves none: its routes are
skipped for these endpoints.
"""

from __future__ import annotations

from patchbay.providers.endpoints import echo, gemini, openai
from patchbay.providers.endpoints.base import EndpointAdapter, EndpointRequest

ENDPOINT_ADAPTERS: dict[str, EndpointAdapter] = {
    "openai": openai.ADAPTER,
    "openai-responses": openai.ADAPTER,
    "gemini": gemini.ADAPTER,
    "echo": echo.ADAPTER,
}


def endpoint_adapter(kind: str, request: EndpointRequest | None = None) -> EndpointAdapter | None:
    """The kind's adapter, if it serves the request's endpoint (any endpoint without one)."""
    found = ENDPOINT_ADAPTERS.get(kind)
    if found is None or (request is not None and not found.serves(request)):
        return None
    return found
