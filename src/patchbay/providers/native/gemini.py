"""Gemini clients on ``gemini`` upstreams: the body forwarded as it came (the model is in the
URL, rewritten there). Streams are always asked for as SSE; a client that asked for the
JSON-array stream gets the same chunks framed as one array, their bytes untouched. Usage is
read from the chunks' ``usageMetadata`` (the last one counts, so a chunk's is parsed only when it
is the last before the finish or the end) and settled at the chunk that carries the finish
reason. The protocol has no slot for a cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.providers.base import HTTPAdapter, Outbound, Tally
from patchbay.providers.gemini import usage_of
from patchbay.providers.native.relay import SSERelay, event_data, loads

STATUS = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 504: "DEADLINE_EXCEEDED"}


def chunk_text(chunk: dict[str, Any]) -> str:
    text = ""
    for candidate in chunk.get("candidates") or ():
        for part in (candidate.get("content") or {}).get("parts") or ():
            if "text" in part:
                text += str(part.get("text") or "")
            elif "functionCall" in part:
                text += orjson.dumps((part["functionCall"] or {}).get("args") or {}).decode()
    return text


class GeminiRelay(SSERelay):
    def __init__(self, tally: Tally, array: bool) -> None:
        super().__init__()
        self.tally = tally
        self.array = array
        self.sent = 0
        self.usage: dict[str, Any] | None = None
        self.usage_payload = b""  # a later chunk's usage, not yet parsed
        self.reported = False

    def event(self, event: bytes) -> bytes:
        payload = event_data(event)
        if payload is None:
            return b"" if self.array else event + b"\n\n"
        # usage as an object: the last one counts, so it is parsed only when it is needed
        lazy = payload.find(b'"usageMetadata":{') >= 0 or payload.find(b'"usageMetadata": {') >= 0
        if payload.find(b'"finishReason"') >= 0 or (
            not lazy and payload.find(b'"usageMetadata"') >= 0
        ):
            chunk = loads(payload)
            if isinstance(chunk, dict):
                self._observe(chunk, payload)
        else:  # held, parsed only if the stream ends without a finish or without usage
            if lazy:
                self.usage_payload = payload
            self.hold(payload)
        return self._frame(payload) if self.array else event + b"\n\n"

    def text_in(self, data: Any) -> str:
        return chunk_text(data) if isinstance(data, dict) else ""

    def _observe(self, chunk: dict[str, Any], payload: bytes) -> None:
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage, self.usage_payload = chunk["usageMetadata"], b""
        else:
            self._read_usage()
        finished = any(c.get("finishReason") for c in chunk.get("candidates") or ())
        if finished and self.usage is not None and not self.reported:
            self.reported = True
            self.report(usage_of(self.usage))
        else:
            self.hold(payload)

    def _frame(self, payload: bytes) -> bytes:
        self.sent += 1
        return (b"[" if self.sent == 1 else b",") + payload

    def _read_usage(self) -> None:
        """The usage of the last chunk that had any and was not parsed."""
        payload, self.usage_payload = self.usage_payload, b""
        chunk = loads(payload) if payload else None
        if isinstance(chunk, dict) and isinstance(chunk.get("usageMetadata"), dict):
            self.usage = chunk["usageMetadata"]

    def end(self) -> bytes:
        self._read_usage()
        if self.usage is not None and not self.reported:
            self.reported = True
            self.report(usage_of(self.usage))
        if not self.array:
            return b""
        return b"]" if self.sent else b"[]"

    def fail(self, error: GatewayError) -> bytes:
        status = STATUS.get(error.status, "UNAVAILABLE")
        body = orjson.dumps(
            {"error": {"code": error.status, "message": error.message, "status": status}}
        )
        if self.array:
            return self._frame(body) + b"]"
        return b"data: " + body + b"\n\n"


class GeminiNative:
    protocol = "gemini"

    def __init__(self, adapter: HTTPAdapter) -> None:
        self.adapter = adapter

    def outbound(
        self,
        route: RouteEntry,
        body: dict[str, Any],
        *,
        stream: bool,
        headers: dict[str, str] | None,
    ) -> Outbound:
        adapter = self.adapter
        return Outbound(adapter.url(route, stream), orjson.dumps(body), adapter.headers(route))

    def count_outbound(self, route: RouteEntry, body: dict[str, Any]) -> Outbound:
        url = (route.provider.base_url or "").rstrip("/")
        url += f"/v1beta/models/{route.upstream_model}:countTokens"
        return Outbound(url, orjson.dumps(body), self.adapter.headers(route))

    def usage(self, answer: dict[str, Any]) -> Usage | None:
        usage = answer.get("usageMetadata")
        return usage_of(usage) if isinstance(usage, dict) else None

    def text(self, answer: dict[str, Any]) -> str:
        return chunk_text(answer)

    def finish(
        self,
        answer: dict[str, Any],
        raw: bytes,
        model: str,
        cost: tuple[Decimal | None, int | None],
    ) -> bytes:
        return raw

    def relay(
        self, tally: Tally, *, body: dict[str, Any], model: str, upstream_model: str, framing: str
    ) -> GeminiRelay:
        return GeminiRelay(tally, array=framing == "json-array")
