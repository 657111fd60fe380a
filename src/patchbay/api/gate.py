"""What every model-calling endpoint does before the proxy: rate limit, then admission.

Returns the ``Call`` and the rate-limit headers to put on the answer (and on a 429).
"""

from __future__ import annotations

import time

from patchbay.accounting.query_ids import new_query_id
from patchbay.api.http import Reply
from patchbay.catalog.entries import ModelEntry
from patchbay.domain.requests import ChatRequest
from patchbay.errors import GatewayError, RateLimited
from patchbay.services.access import authorize
from patchbay.services.calls import Call
from patchbay.services.gateway import Gateway
from patchbay.services.keystore import Principal
from patchbay.services.proxy import Edge


async def open_call(
    gateway: Gateway,
    principal: Principal,
    model: ModelEntry,
    *,
    protocol: str,
    stream: bool,
    body_size: int,
    max_output_tokens: int | None,
) -> tuple[Call, list[tuple[bytes, bytes]]]:
    prompt_estimate = body_size // 4 + 1
    token_estimate = prompt_estimate + (max_output_tokens or 0)
    decision = await gateway.limiter.acquire(
        str(principal.key_id), rpm=principal.rpm, tpm=principal.tpm, tokens=token_estimate
    )
    if not decision.allowed:
        error = RateLimited(
            "rate limit exceeded for this API key; retry after the indicated time",
            retry_after_s=decision.retry_after_s,
        )
        error.headers.update(decision.headers())
        raise error
    call = Call(
        query_id=new_query_id(int(time.time() * 1000)),
        principal=principal,
        model=model,
        protocol=protocol,
        stream=stream,
        prompt_estimate=prompt_estimate,
        max_output_tokens=max_output_tokens,
        token_estimate=token_estimate if principal.tpm else None,
    )
    gateway.meter.admit(call)
    return call, decision.raw_headers()


async def serve(
    gateway: Gateway,
    principal: Principal,
    request: ChatRequest,
    edge: Edge,
    *,
    protocol: str,
    body_size: int,
) -> Reply:
    """Authorize the canonical request's model, limit, admit, and serve it through ``edge``."""
    model = authorize(principal, gateway.catalog.get(request.model), request.model)
    call, headers = await open_call(
        gateway,
        principal,
        model,
        protocol=protocol,
        stream=request.stream,
        body_size=body_size,
        max_output_tokens=request.max_output_tokens,
    )
    try:
        response = await gateway.proxy.translate(call, request, edge)
    except GatewayError:
        gateway.meter.settle(call)
        raise
    response.add_raw_headers(headers)
    return response
