"""The observability routes and hooks outside the model-call path: ``GET /metrics``, and the
request id, overhead header and request line for every other route (a pure ASGI wrapper)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patchbay.observability.trace import begin


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = request.app.state.observer.render()
    return Response(body, media_type=content_type)


class RequestIds:
    """``x-request-id`` (accepted or made) and ``x-patchbay-overhead-ms`` on every answer,
    and one request line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace = begin(scope)
        status = 500

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                overhead = trace.overhead_s() * 1000
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", trace.raw_id),
                    (b"x-patchbay-overhead-ms", b"%.3f" % overhead),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            lines = scope["app"].state.observer.lines
            if lines.enabled():
                elapsed = round((time.perf_counter() - trace.start) * 1000, 3)
                lines.add(
                    dict,
                    {
                        "request_id": trace.request_id,
                        "method": trace.method,
                        "path": trace.path,
                        "status": status,
                        "duration_ms": elapsed,
                    },
                )
