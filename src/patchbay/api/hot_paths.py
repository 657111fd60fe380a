"""Serves the model-call routes straight from the server, ahead of FastAPI's stack.

The request path is the product: these endpoints parse, authenticate, limit and answer errors
themselves (on an ``Exchange``, not a framework request), so the generic middleware — routing
regexes, exception and telemetry wrappers, request and response objects — is pure overhead
there. Every other route — admin, bots, catalog, health — goes through FastAPI.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from patchbay.api.edge import unexpected
from patchbay.api.exchange import ClientGone, Exchange
from patchbay.api.http import error_response
from patchbay.asgi.replies import Reply
from patchbay.errors import GatewayError, InvalidRequest
from patchbay.observability.trace import begin
from patchbay.protocols.envelopes import protocol_for_path

if TYPE_CHECKING:
    from patchbay.observability.instrument import Observer
    from patchbay.runtime.gateway import Gateway

log = logging.getLogger("patchbay")
Endpoint = Callable[[Exchange], Awaitable[Reply]]
GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/")


class HotPaths:
    def __init__(self, app: Any, exact: dict[str, Endpoint], gemini: Endpoint) -> None:
        self.app: ASGIApp = app
        self.exact = exact  # path -> endpoint, all POST
        self.gemini = gemini
        self._gateway: Gateway | None = None
        self._observer: Observer | None = None

    def _route(self, scope: Scope) -> tuple[Endpoint, dict[str, str] | None] | None:
        path = scope["path"]
        endpoint = self.exact.get(path)
        if endpoint is not None:
            return endpoint, None
        if ":" in path and scope["method"] == "POST":
            for prefix in GEMINI_PREFIXES:
                if path.startswith(prefix):
                    return self.gemini, {"target": path[len(prefix) :]}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        endpoint, params = route
        if scope["method"] != "POST":
            error = InvalidRequest(f"method {scope['method']} is not allowed here")
            error.status = 405
            await error_response(error, protocol_for_path(scope["path"]))(scope, receive, send)
            return
        gateway = self._gateway
        if gateway is None:  # set by the lifespan before the first request
            gateway = self._gateway = self.app.state.gateway  # type: ignore[attr-defined]
        observer = self._observer
        if observer is None:  # set by the lifespan too
            observer = self._observer = self.app.state.observer  # type: ignore[attr-defined]
        trace = begin(scope)  # the request id and clock (metrics, the request line)
        try:
            reply = await endpoint(Exchange(gateway, scope, receive, params))
        except ClientGone:
            return
        except GatewayError as exc:
            reply = error_response(exc, protocol_for_path(scope["path"]))
        except Exception as exc:
            failure = unexpected(exc)  # a database outage: 503 with Retry-After
            crash = failure.status == 500
            log.log(
                logging.ERROR if crash else logging.WARNING,
                "%s %s on %s %s",
                "unhandled" if crash else "unavailable:",
                type(exc).__name__,
                scope["method"],
                scope["path"],
            )
            reply = error_response(failure, protocol_for_path(scope["path"]))
        overhead = trace.overhead_s()  # before the head is sent: a stream's relay is upstream
        reply.add_raw_headers(observer.headers(trace, overhead))
        status = getattr(reply, "status_code", None)  # None: a stream, answered 200
        if status is None:
            observer.stream_started()
        try:
            await reply(scope, receive, send)
        finally:
            if status is None:
                observer.stream_ended()
            observer.finish(trace, status or 200, overhead)
