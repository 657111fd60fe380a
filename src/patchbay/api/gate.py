"""What every model-calling endpoint does before the proxy: rate limit, then admission.

Returns the ``Call`` and the rate-limit headers to put on the answer (and on a 429).
"""

from __future__ import annotations

import time

from patchbay.accounting.query_ids import new_query_id
from patchbay.catalog.entries import ModelEntry
from patchbay.errors import RateLimited
from patchbay.services.calls import Call
from patchbay.services.gateway import Gateway
from patchbay.services.keystore import Principal


async def open_call(
    gateway: Gateway,
    principal: Principal,
    model: ModelEntry,
    *,
    protocol: str,
    stream: bool,
    body_size: int,
    max_output_tokens: int | None,
) -> tuple[Call, dict[str, str]]:
    prompt_estimate = body_size // 4 + 1
    token_estimate = prompt_estimate + (max_output_tokens or 0)
    decision = await gateway.limiter.acquire(
        str(principal.key_id), rpm=principal.rpm, tpm=principal.tpm, tokens=token_estimate
    )
    headers = decision.headers()
    if not decision.allowed:
        error = RateLimited(
            "rate limit exceeded for this API key; retry after the indicated time",
            retry_after_s=decision.retry_after_s,
        )
        error.headers.update(headers)
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
    await gateway.meter.admit(call)
    return call, headers
