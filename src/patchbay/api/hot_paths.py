"""Serves the model-call routes straight from the server, ahead of FastAPI's stack.

The request path is the product: these endpoints parse, authenticate, limit and answer errors
themselves, so the generic middleware (routing regexes, exception and telemetry wrappers) is
pure overhead there. Every other route — admin, bots, catalog, health — goes through FastAPI.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from patchbay.api.envelopes import protocol_for_path
from patchbay.api.http import error_response
from patchbay.errors import GatewayError

log = logging.getLogger("patchbay")
Endpoint = Callable[[Request], Awaitable[Response]]


class HotPaths:
    def __init__(
        self, app: ASGIApp, exact: dict[tuple[str, str], Endpoint], gemini: Endpoint
    ) -> None:
        self.app = app
        self.exact = exact
        self.gemini = gemini

    def _route(self, scope: Scope) -> Endpoint | None:
        method, path = scope["method"], scope["path"]
        endpoint = self.exact.get((method, path))
        if endpoint is None and method == "POST" and ":" in path:
            for prefix in ("/v1beta/models/", "/v1/models/"):
                if path.startswith(prefix):
                    scope["path_params"] = {"target": path[len(prefix) :]}
                    return self.gemini
        return endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._route(scope) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except GatewayError as exc:
            response = error_response(exc, protocol_for_path(scope["path"]))
        except Exception as exc:
            log.error("unhandled %s on %s %s", type(exc).__name__, scope["method"], scope["path"])
            error = GatewayError("the gateway failed to handle this request")
            response = error_response(error, protocol_for_path(scope["path"]))
        await response(scope, receive, send)
