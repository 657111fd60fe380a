"""Sign-in attempts, rate limited per client address through the gateway's own limiter (with
Redis: exact across workers and instances; without: each worker allows its share).

Behind a load balancer every attempt comes from the balancer's address, so the limit is then
one for all users together: keep it generous, or put a per-client limit in the balancer (see
``docs/deploy.md``)."""

from __future__ import annotations

from starlette.requests import Request

from patchbay.limits.base import Limiter


async def allow_sign_in(limiter: Limiter, request: Request, per_minute: int) -> float | None:
    """None when the attempt may go ahead, otherwise the seconds to wait."""
    client = request.client.host if request.client else "unknown"
    decision = await limiter.acquire(
        f"console-sign-in:{client}", rpm=per_minute, tpm=None, tokens=0
    )
    return None if decision.allowed else max(1.0, decision.retry_after_s)
