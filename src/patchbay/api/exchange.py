"""One model call's HTTP request as the hot endpoints see it: read straight off ASGI.

The model-call routes are the product's request path, so they skip the framework's request
object: the headers are decoded once into a dict (ASGI servers give them lower-cased), the
query string only if asked for, and the body is read from ``receive`` up to the configured
limit. Every other route still gets FastAPI's ``Request``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Receive, Scope

from patchbay.errors import InvalidRequest, RequestTooLarge

if TYPE_CHECKING:
    from patchbay.services.gateway import Gateway


KEY_HEADERS = frozenset({b"authorization", b"x-api-key", b"x-goog-api-key"})


class ClientGone(Exception):
    """The client disconnected before its request was read: there is no one to answer."""


class Exchange:
    __slots__ = (
        "gateway",
        "path",
        "path_params",
        "body_size",
        "auth",
        "content_length",
        "_scope",
        "_receive",
    )

    def __init__(
        self,
        gateway: Gateway,
        scope: Scope,
        receive: Receive,
        path_params: dict[str, str] | None = None,
    ) -> None:
        self.gateway = gateway
        self.path: str = scope["path"]
        self.path_params = path_params or {}
        self.body_size = 0
        self._scope = scope
        self._receive = receive
        self.auth: dict[bytes, bytes] = {}  # the key-carrying headers, as sent
        self.content_length: bytes | None = None
        for name, value in scope["headers"]:  # one pass; names arrive lower-cased
            if name in KEY_HEADERS:
                self.auth[name] = value
            elif name == b"content-length":
                self.content_length = value

    @property
    def headers(self) -> dict[str, str]:
        """All headers, decoded (built on demand: the request path needs only a few)."""
        return {n.decode("latin-1"): v.decode("latin-1") for n, v in self._scope["headers"]}

    @property
    def query(self) -> dict[str, str]:
        raw = self._scope.get("query_string", b"")
        return dict(parse_qsl(raw.decode("latin-1"))) if raw else {}

    def api_key(self) -> str | None:
        """The API key however the client's SDK sends it (SPEC §2)."""
        auth = self.auth
        bearer = auth.get(b"authorization")
        if bearer and bearer[:7].lower() == b"bearer ":
            token = bearer[7:].strip()
            if token:
                return token.decode("latin-1")
        for name in (b"x-api-key", b"x-goog-api-key"):
            value = auth.get(name)
            if value:
                return value.decode("latin-1")
        return self.query.get("key")

    async def body(self, limit: int) -> bytes:
        """The request body, refusing more than ``limit`` bytes without reading them all."""
        declared = self.content_length
        if declared is not None:
            if not declared.isdigit():
                raise InvalidRequest("invalid Content-Length header")
            if int(declared) > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
        message = await self._receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body: bytes = message.get("body", b"")
        while message.get("more_body"):
            message = await self._receive()
            body += message.get("body", b"")
            if message["type"] == "http.disconnect":
                raise ClientGone()
            if len(body) > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
        if len(body) > limit:
            raise RequestTooLarge(f"request body exceeds {limit} bytes")
        self.body_size = len(body)
        return body

    async def json_object(self, limit: int) -> dict[str, Any]:
        """The body as a JSON object; its size is left in ``body_size``."""
        body = await self.body(limit)
        if not body:
            raise InvalidRequest("request body is empty; expected a JSON object")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"request body is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise InvalidRequest("request body must be a JSON object")
        return data
