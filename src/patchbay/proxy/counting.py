"""Token counting endpoints (Anthropic ``/v1/messages/count_tokens``, Gemini ``:countTokens``).

Same key and model rules as the protocol's model calls (the model must exist for the key and
be allowed), one request of the key's rate limit, no charge. The model's routes are tried in
balancer order: a route whose kind counts natively (``anthropic``, ``gemini``) is asked, with
only the model rewritten; otherwise — or when that upstream fails — the gateway counts
locally with its shipped BPE tokenizer (``accounting.bpe``): the instructions, every message's
text, tool calls and results, and the tool definitions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from patchbay.accounting import bpe
from patchbay.accounts.keystore import Principal
from patchbay.asgi.replies import BytesReply, Reply, json_reply
from patchbay.catalog.access import authorize
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.messages import (
    FilePart,
    ImagePart,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
)
from patchbay.domain.requests import ChatRequest
from patchbay.errors import GatewayError, RateLimited
from patchbay.providers.base import CountingWire, Transport
from patchbay.providers.registry import adapter
from patchbay.proxy.passthrough import refused
from patchbay.proxy.pipeline import Pipeline
from patchbay.routing.balancer import order_routes
from patchbay.upstream.errors import is_retryable

MESSAGE_OVERHEAD = 3  # tokens a chat format spends around each message
IMAGE_TOKENS = 1600  # an image of unknown size, at the larger providers' typical cost


def local_count(request: ChatRequest) -> int:
    """The gateway's own count of a request's input tokens."""
    texts = [p.text for p in request.system]
    images = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, TextPart | ReasoningPart):
                texts.append(part.text)
            elif isinstance(part, ToolCall):
                texts.append(part.name + part.arguments)
            elif isinstance(part, ToolResult):
                texts += [p.text for p in part.content if isinstance(p, TextPart)]
                images += sum(isinstance(p, ImagePart | FilePart) for p in part.content)
            elif isinstance(part, ImagePart | FilePart):
                images += 1
    for tool in request.tools:
        definition = {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        }
        texts.append(orjson.dumps(definition).decode())
    return bpe.count_many(texts) + MESSAGE_OVERHEAD * len(request.messages) + IMAGE_TOKENS * images


async def count(
    pipeline: Pipeline,
    principal: Principal,
    *,
    protocol: str,
    model: str,
    body: dict[str, Any],
    decode: Callable[[], ChatRequest],
    local_answer: Callable[[int], dict[str, Any]],
) -> Reply:
    entry = authorize(principal, pipeline.catalog.get(model), model)
    decision = await pipeline.limiter.acquire(
        str(principal.key_id), rpm=principal.rpm, tpm=None, tokens=0
    )
    if not decision.allowed:
        error = RateLimited(
            "rate limit exceeded for this API key; retry after the indicated time",
            retry_after_s=decision.retry_after_s,
        )
        error.headers.update(decision.headers())
        raise error
    for route in order_routes(entry.routes, pipeline.rng):
        wire = adapter(route.provider.kind).native
        if isinstance(wire, CountingWire) and wire.protocol == protocol:
            try:
                reply = await _forward(pipeline.transport, route, wire, body)
            except GatewayError as exc:
                if is_retryable(exc):
                    continue  # that upstream cannot count now: the next route, or ourselves
                raise
            reply.add_raw_headers(decision.raw_headers())
            return reply
        break  # the first route does not count natively: count here
    answer = json_reply(local_answer(local_count(decode())))
    answer.add_raw_headers(decision.raw_headers())
    return answer


async def _forward(
    transport: Transport, route: RouteEntry, wire: CountingWire, body: dict[str, Any]
) -> Reply:
    out = wire.count_outbound(route, body)
    provider = route.provider
    response = await transport.post(
        provider.name, out.url, out.body, out.headers, provider.timeouts,
        guarded=provider.user_owned,
    )  # fmt: skip
    if response.status >= 400:
        return refused(route, response)
    return BytesReply(
        response.body, 200, None, (response.content_type or "application/json").encode()
    )
