"""One model call's HTTP request as the hot endpoints see it: read straight off ASGI.

The model-call routes are the product's request path, so they skip the framework's request
object: the few headers they need are picked in one pass (ASGI servers give names
lower-cased), the query string is parsed only if asked for, and the body is read from
``receive`` up to the configured limit. Every other route still gets FastAPI's ``Request``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope

from patchbay.api.http import pick_api_key
from patchbay.asgi.receiving import receive_by
from patchbay.errors import InvalidRequest, RequestTimedOut, RequestTooLarge

if TYPE_CHECKING:
    from patchbay.runtime.gateway import Gateway


KEY_HEADERS = frozenset({b"authorization", b"x-api-key", b"x-goog-api-key"})


class ClientGone(Exception):
    """The client disconnected before its request was read: there is no one to answer."""


class Exchange:
    __slots__ = (
        "gateway",
        "path_params",
        "body_size",
        "auth",
        "content_length",
        "_scope",
        "_receive",
        "_deadline",
    )

    def __init__(
        self,
        gateway: Gateway,
        scope: Scope,
        receive: Receive,
        path_params: dict[str, str] | None = None,
    ) -> None:
        self.gateway = gateway
        self.path_params = path_params or {}
        self.body_size = 0
        self._scope = scope
        self._receive = receive
        self._deadline: float | None = None  # when the body must have arrived (loop time)
        self.auth: dict[bytes, bytes] = {}  # the key-carrying headers, as sent
        self.content_length: bytes | None = None
        for name, value in scope["headers"]:  # one pass; names arrive lower-cased
            if name in KEY_HEADERS:
                self.auth[name] = value
            elif name == b"content-length":
                self.content_length = value

    def header(self, name: bytes) -> str | None:
        """Any other request header (``name`` lower-case), found by a scan."""
        for key, value in self._scope["headers"]:
            if key == name:
                return value.decode("latin-1")  # type: ignore[no-any-return]
        return None

    @property
    def query(self) -> dict[str, str]:
        raw = self._scope.get("query_string", b"")
        return dict(parse_qsl(raw.decode("latin-1"))) if raw else {}

    def _auth(self, name: bytes) -> str | None:
        value = self.auth.get(name)
        return value.decode("latin-1") if value is not None else None

    def api_key(self) -> str | None:
        return pick_api_key(
            self._auth(b"authorization"),
            self._auth(b"x-api-key"),
            self._auth(b"x-goog-api-key"),
            lambda: self.query.get("key"),
        )

    async def receive(self) -> Message:
        """The next request message; the whole body must arrive within ``body_timeout_s`` of
        the first read, so a sender that trickles it gets 408 instead of holding a worker."""
        timeout = self.gateway.settings.body_timeout_s
        if self._deadline is None:
            self._deadline = asyncio.get_running_loop().time() + timeout
        try:
            return await receive_by(self._receive, self._deadline)
        except TimeoutError:
            raise RequestTimedOut(f"the request body did not arrive within {timeout:g} s") from None

    async def body(self, limit: int) -> bytes:
        """The request body, refusing more than ``limit`` bytes without reading them all."""
        declared = self.content_length
        if declared is not None:
            if not declared.isdigit():
                raise InvalidRequest("invalid Content-Length header")
            if int(declared) > limit:
                raise RequestTooLarge(f"request body exceeds {limit} bytes")
        message = await self.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body: bytes = message.get("body", b"")
        while message.get("more_body"):
            message = await self.receive()
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
