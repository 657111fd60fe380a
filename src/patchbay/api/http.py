"""Request helpers shared by the HTTP edges: the caller's API key, error replies."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from patchbay.asgi.replies import JSONReply
from patchbay.errors import GatewayError
from patchbay.protocols.envelopes import Protocol, render


def error_response(error: GatewayError, protocol: Protocol) -> JSONReply:
    status, body, headers = render(error, protocol)
    return JSONReply(body, status, headers)


def pick_api_key(
    authorization: str | None,
    x_api_key: str | None,
    x_goog_api_key: str | None,
    key_param: Callable[[], str | None],
) -> str | None:
    """The API key however the client's SDK sends it (SPEC §2): bearer token, ``x-api-key``,
    ``x-goog-api-key``, then the ``key`` query parameter (read only when needed)."""
    if authorization and authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
        if token:
            return token
    return x_api_key or x_goog_api_key or key_param()


def client_key(request: Request) -> str | None:
    headers = request.headers
    return pick_api_key(
        headers.get("authorization"),
        headers.get("x-api-key"),
        headers.get("x-goog-api-key"),
        lambda: request.query_params.get("key"),
    )
