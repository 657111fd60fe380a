"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from patchbay.asgi.replies import JSONReply, json_reply


async def healthz(request: Request) -> Response | JSONReply:
    return json_reply({"status": "ok"})


async def readyz(request: Request) -> Response | JSONReply:
    """Ready when the database answers; with Redis down and fail-open limits, ``degraded``."""
    gateway = request.app.state.gateway
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with gateway.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    limiter = gateway.limiter
    if hasattr(limiter, "ping"):
        checks["redis"] = "ok" if await limiter.ping() else "unreachable"
    fail_open = gateway.settings.redis_fail_mode == "open"
    redis_ok = checks.get("redis", "ok") == "ok"
    ready = checks["database"] == "ok" and (redis_ok or fail_open)
    status = "not ready" if not ready else ("ready" if redis_ok else "degraded")
    return json_reply({"status": status, "checks": checks}, status=200 if ready else 503)
