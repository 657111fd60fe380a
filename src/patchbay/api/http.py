"""Small request/response helpers shared by the protocol endpoints (no framework magic)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from patchbay.api.envelopes import Protocol, render
from patchbay.errors import GatewayError, InvalidRequest, RequestTooLarge

JSON_TYPE = "application/json"


class JSONBytes(Response):
    media_type = JSON_TYPE


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONBytes(orjson.dumps(data), status_code=status, headers=headers)


def add_headers(response: Any, headers: dict[str, str]) -> None:
    """Add headers to a Starlette response or an ``SSEResponse``."""
    if hasattr(response, "add_headers"):
        response.add_headers(headers)
    else:
        response.headers.update(headers)


def error_response(error: GatewayError, protocol: Protocol) -> Response:
    status, body, headers = render(error, protocol)
    return JSONBytes(body, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
        except ValueError:
            raise InvalidRequest("invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; its size in bytes is left in ``request.state.body_size``."""
    body = await read_body(request, limit)
    request.state.body_size = len(body)
    if not body:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return data


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def client_key(request: Request) -> str | None:
    """The API key however the client's SDK sends it (SPEC §2)."""
    headers = request.headers
    return (
        bearer_token(request)
        or headers.get("x-api-key")
        or headers.get("x-goog-api-key")
        or request.query_params.get("key")
    )
