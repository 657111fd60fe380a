"""``GET /v1/models[/{id}]`` and ``GET /v1beta/models[/{id}]``: the catalog, in the shape the
caller's headers ask for (SPEC §6 "Model-list format"), with ETag and 304.

Codex CLI asks ``GET /v1/models?client_version=X.Y.Z`` and reads only its own shape
(``catalog.codex_view``); the ``client_version`` parameter is how it is told apart."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from patchbay.accounts.keystore import Principal
from patchbay.api.http import client_key, error_response
from patchbay.asgi.replies import JSONReply, json_reply
from patchbay.catalog import codex_view, views
from patchbay.catalog.access import allowed
from patchbay.catalog.listing import Shape
from patchbay.errors import GatewayError, ModelNotFound
from patchbay.protocols.envelopes import Protocol
from patchbay.runtime.gateway import Gateway

ONE = {
    "openai": views.openai_model,
    "anthropic": views.anthropic_model,
    "gemini": views.gemini_model,
}


def shape_of(request: Request) -> Shape:
    if request.url.path.startswith("/v1beta"):
        return "gemini"
    headers = request.headers
    if "anthropic-version" in headers:
        return "anthropic"
    if "x-goog-api-key" in headers or "key" in request.query_params:
        return "gemini"
    return "openai"


async def _principal(request: Request, gateway: Gateway) -> Principal | None:
    key = client_key(request)
    return None if key is None else await gateway.keys.authenticate(key)


def _cache_headers(principal: Principal | None, etag: str) -> dict[str, str]:
    scope = "private" if principal else "public"
    return {
        "etag": etag,
        "cache-control": f"{scope}, max-age=60",
        "vary": "authorization, x-api-key, x-goog-api-key, anthropic-version",
    }


def codex_client_version(request: Request) -> str | None:
    """The Codex CLI's version when the request is Codex asking for its model metadata."""
    if request.url.path.startswith("/v1beta"):
        return None
    return request.query_params.get("client_version")


def _codex_listing(
    gateway: Gateway, principal: Principal | None, client_version: str
) -> tuple[bytes, str]:
    catalog = gateway.catalog
    visible = views.ordered(m for m in catalog.models.values() if allowed(principal, m))
    body = orjson.dumps(codex_view.codex_list(visible, client_version))
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def list_models(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    shape = shape_of(request)
    try:
        principal = await _principal(request, gateway)
    except GatewayError as exc:
        return error_response(exc, shape)
    catalog = gateway.catalog
    codex = codex_client_version(request)
    if codex is not None:
        body, etag = _codex_listing(gateway, principal, codex)
    else:
        body, etag = gateway.listings.render(catalog, catalog.models, principal, shape)
    headers = _cache_headers(principal, etag)
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return JSONReply(body, headers=headers)


async def get_model(request: Request) -> Response | JSONReply:
    gateway: Gateway = request.app.state.gateway
    shape = shape_of(request)
    protocol: Protocol = shape
    model_id: str = request.path_params["model_id"]
    if shape == "gemini" and model_id.startswith("models/"):
        model_id = model_id[len("models/") :]
    try:
        principal = await _principal(request, gateway)
        model = gateway.catalog.get(model_id)
        if model is None or not allowed(principal, model):
            raise ModelNotFound(f"The model '{model_id}' does not exist", param="model")
    except GatewayError as exc:
        return error_response(exc, protocol)
    data: dict[str, Any] = ONE[shape](model)
    scope = "private" if principal else "public"
    return json_reply(data, headers={"cache-control": f"{scope}, max-age=60"})
