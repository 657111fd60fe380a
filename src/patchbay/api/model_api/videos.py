"""``POST /v1/videos`` (a form, as the OpenAI SDK sends it, or JSON), ``GET /v1/videos/{id}``
and ``GET /v1/videos/{id}/content``: asynchronous video tasks of the caller's account
(``proxy.videos``). A task another account made is not found."""

from __future__ import annotations

from starlette.requests import Request

from patchbay.accounts.keystore import Principal
from patchbay.api.exchange import Exchange
from patchbay.api.http import client_key
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply
from patchbay.errors import Unavailable
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.proxy.videos import Videos
from patchbay.runtime.gateway import Gateway

DEFAULT_MODEL = "sora-2"  # OpenAI's default when no model is sent


async def create(exchange: Exchange) -> Reply:
    async def handler(principal: Principal, request: EndpointRequest, size: int) -> Reply:
        tasks = exchange.gateway.videos
        if tasks is None:
            raise Unavailable("the gateway is starting")
        return await tasks.create(principal, request, size)

    return await serve(exchange, "videos", "/videos", handler, default_model=DEFAULT_MODEL)


async def _caller(request: Request) -> tuple[Principal, Videos]:
    gateway: Gateway = request.app.state.gateway
    principal = await gateway.keys.authenticate(client_key(request))
    if gateway.videos is None:
        raise Unavailable("the gateway is starting")
    return principal, gateway.videos


async def retrieve(request: Request) -> Reply:
    principal, tasks = await _caller(request)
    return await tasks.retrieve(principal, request.path_params["video_id"])


async def content(request: Request) -> Reply:
    principal, tasks = await _caller(request)
    variant = request.query_params.get("variant")
    return await tasks.content(principal, request.path_params["video_id"], variant)
