"""``create_app(settings)``: the ASGI application, its routes and its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import cast

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from patchbay.api import (
    admin,
    anthropic,
    bots,
    chat,
    count_tokens,
    gemini,
    health,
    model_api,
    models,
    openapi,
    redemptions,
    responses,
    usage,
)
from patchbay.api.body_limit import BodyLimit
from patchbay.api.console import routes as console_routes
from patchbay.api.edge import OUTAGES, unexpected
from patchbay.api.hot_paths import Endpoint, HotPaths
from patchbay.api.http import error_response
from patchbay.asgi.replies import JSONReply
from patchbay.errors import GatewayError, InvalidRequest, NotFound
from patchbay.errors import GatewayError as _Base
from patchbay.gc_policy import settle_after_startup
from patchbay.observability.http import RequestIds, metrics_endpoint
from patchbay.observability.instrument import Observer
from patchbay.protocols.envelopes import protocol_for_path
from patchbay.runtime.gateway import Gateway
from patchbay.settings import Settings, load_settings

log = logging.getLogger("patchbay")


def _param(loc: tuple[object, ...]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


async def _gateway_error(request: Request, exc: Exception) -> Response | JSONReply:
    assert isinstance(exc, GatewayError)
    return error_response(exc, protocol_for_path(request.url.path))


async def _validation_error(request: Request, exc: Exception) -> Response | JSONReply:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = _param(tuple(first.get("loc", ())))
    message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
    if first.get("type") == "json_invalid":
        message, param = "request body is not valid JSON", None
    elif isinstance(first.get("input"), bytes):  # a body that was not sent as JSON (a form)
        message = "the request body must be JSON, sent with content-type: application/json"
        param = None
    return error_response(InvalidRequest(message, param=param), protocol_for_path(request.url.path))


async def _http_error(request: Request, exc: Exception) -> Response | JSONReply:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, GatewayError):  # raised while FastAPI read the body
        return error_response(exc.__cause__, protocol_for_path(request.url.path))
    error: _Base = NotFound(f"no route for {request.method} {request.url.path}")
    if exc.status_code == 405:
        error = InvalidRequest(f"method {request.method} is not allowed here")
        error.status = 405
    elif exc.status_code != 404:
        error = InvalidRequest(str(exc.detail))
        error.status = exc.status_code
    return error_response(error, protocol_for_path(request.url.path))


async def _unexpected(request: Request, exc: Exception) -> Response | JSONReply:
    error = unexpected(exc)  # a database outage: 503 with Retry-After
    name = "unhandled" if error.status == 500 else "unavailable:"
    level = logging.ERROR if error.status == 500 else logging.WARNING
    log.log(level, "%s %s on %s %s", name, type(exc).__name__, request.method, request.url.path)
    return error_response(error, protocol_for_path(request.url.path))


StarletteEndpoint = Callable[[Request], Awaitable[Response]]


def _endpoint(fn: Callable[[Request], Awaitable[Response | JSONReply]]) -> StarletteEndpoint:
    """Starlette sends whatever ASGI response an endpoint returns; its types name only its own
    ``Response``, and the replies here are leaner ASGI callables."""
    return cast(StarletteEndpoint, fn)


def _handler(
    fn: Callable[[Request, Exception], Awaitable[Response | JSONReply]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    return cast(Callable[[Request, Exception], Awaitable[Response]], fn)


def create_app(settings: Settings) -> FastAPI:
    """Every route but the model calls, which ``serving_app`` serves in front of this."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = await Gateway.start(settings)
        app.state.observer = Observer(app.state.gateway)  # metrics, request ids and lines
        app.state.observer.start()
        settle_after_startup()
        try:
            yield
        finally:
            await app.state.gateway.stop()
            await app.state.observer.stop()

    app = FastAPI(
        title="Patchbay",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.openapi = partial(openapi.document, app)  # type: ignore[method-assign]
    app.add_route("/v1/responses/{response_id}", _endpoint(responses.retrieve), methods=["GET"])
    app.add_route("/v1/responses/{response_id}", _endpoint(responses.remove), methods=["DELETE"])
    app.add_route("/v1/models", _endpoint(models.list_models), methods=["GET"])
    app.add_route("/v1/models/{model_id:path}", _endpoint(models.get_model), methods=["GET"])
    app.add_route("/v1beta/models", _endpoint(models.list_models), methods=["GET"])
    app.add_route("/v1beta/models/{model_id:path}", _endpoint(models.get_model), methods=["GET"])
    app.include_router(bots.router)
    app.add_route("/usage/current_balance", _endpoint(usage.current_balance), methods=["GET"])
    app.add_route("/usage/points_history", _endpoint(usage.points_history), methods=["GET"])
    app.add_route("/healthz", _endpoint(health.healthz), methods=["GET"])
    app.add_route("/readyz", _endpoint(health.readyz), methods=["GET"])
    app.add_route("/metrics", metrics_endpoint, methods=["GET"])
    app.router.routes.extend(console_routes())  # /ui: the web console
    model_api.add_routes(app, _endpoint)  # video tasks (GET) and the 501s of files, fine-tuning
    app.include_router(admin.router)
    app.include_router(redemptions.admin_router)
    app.include_router(redemptions.router)
    app.add_exception_handler(GatewayError, _handler(_gateway_error))
    app.add_exception_handler(RequestValidationError, _handler(_validation_error))
    app.add_exception_handler(HTTPException, _handler(_http_error))
    for outage in OUTAGES:  # answered here, not re-raised to the server as a crash
        app.add_exception_handler(outage, _handler(_unexpected))
    app.add_exception_handler(Exception, _handler(_unexpected))
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(RequestIds)
    return app


def serving_app(settings: Settings) -> HotPaths:
    """The application as served: model-call routes first, FastAPI for the rest."""
    app = create_app(settings)
    exact: dict[str, Endpoint] = {
        "/v1/chat/completions": chat.chat_completions,
        "/v1/messages": anthropic.messages,
        "/v1/messages/count_tokens": count_tokens.messages,
        "/v1/responses": responses.create,
        **model_api.HOT_ROUTES,  # embeddings, completions, moderations, images, audio, ...
    }
    return HotPaths(app, exact, model_api.gemini_methods(gemini.generate))


def app_from_environment() -> HotPaths:
    """Factory for ``uvicorn --factory`` and for ``patchbay serve --workers N``."""
    return serving_app(load_settings())
