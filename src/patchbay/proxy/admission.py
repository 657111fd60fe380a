"""Before any upstream work: the key's rate limit, then the account's admission (402).

Returns the ``Call`` that travels through the rest of the pipeline and the rate-limit headers
to put on the answer (a 429 carries them too).
"""

from __future__ import annotations

import time

from patchbay.accounting.query_ids import new_query_id
from patchbay.accounts.keystore import Principal
from patchbay.catalog.entries import ModelEntry
from patchbay.errors import RateLimited
from patchbay.limits.base import Limiter
from patchbay.metering.call import Call
from patchbay.metering.meter import Meter
from patchbay.proxy.inbound import Inbound

RawHeaders = list[tuple[bytes, bytes]]


async def open_call(
    limiter: Limiter, meter: Meter, principal: Principal, model: ModelEntry, inbound: Inbound
) -> tuple[Call, RawHeaders]:
    prompt_estimate = inbound.body_size // 4 + 1
    token_estimate = prompt_estimate + (inbound.max_output_tokens or 0)
    decision = await limiter.acquire(
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
        protocol=inbound.protocol,
        stream=inbound.stream,
        prompt_estimate=prompt_estimate,
        prompt=inbound.body,
        max_output_tokens=inbound.max_output_tokens,
        token_estimate=token_estimate if principal.tpm else None,
    )
    meter.admit(call)
    await meter.reserve(call)
    return call, decision.raw_headers()
