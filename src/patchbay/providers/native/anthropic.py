"""Anthropic Messages clients on ``anthropic`` upstreams: the body forwarded as it came with
the model rewritten, and the client's ``anthropic-version`` / ``anthropic-beta`` headers passed
on (Claude Code's betas change what the API accepts). Streamed, usage is read from
``message_start`` and ``message_delta``; text deltas are held, and parsed to count them only if
the stream ends without usage. The
protocol has no slot for a cost, so nothing is re-encoded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.providers.anthropic import usage_of
from patchbay.providers.base import HTTPAdapter, Outbound, Tally
from patchbay.providers.native.relay import SSERelay, event_data, renamer

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
DELTA_FIELDS = ("text", "partial_json", "thinking")


class AnthropicRelay(SSERelay):
    # the two events with usage (message_start also carries the model)
    marks = (b'"message_start"', b'"message_delta"')
    text_marks = (b'"content_block_delta"',)
    rename_runs = False

    def __init__(self, tally: Tally, model: str, upstream_model: str) -> None:
        super().__init__()
        self.tally = tally
        self.rename = renamer(upstream_model, model)
        self.usage: dict[str, Any] = {}

    def event(self, event: bytes) -> bytes:
        payload = event_data(event)
        if payload is None:
            return event + b"\n\n"
        head = payload[:48]
        if head.find(b'"content_block_delta"') >= 0:
            self.hold(payload)
        elif head.find(b'"message_start"') >= 0:
            self._usage(payload, "message")
            event = self.rename(event)
        elif head.find(b'"message_delta"') >= 0:
            self._usage(payload, None)
            self.report(usage_of(self.usage))
        return event + b"\n\n"

    def text_in(self, data: Any) -> str:
        delta = (data.get("delta") if isinstance(data, dict) else None) or {}
        if not isinstance(delta, dict):
            return ""
        return "".join(t for name in DELTA_FIELDS if isinstance(t := delta.get(name), str))

    def _usage(self, payload: bytes, inside: str | None) -> None:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        holder = (data.get(inside) or {}) if inside else data
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if isinstance(usage, dict):
            self.usage.update({k: v for k, v in usage.items() if v is not None})

    def fail(self, error: GatewayError) -> bytes:
        kind = "overloaded_error" if error.status in (429, 503, 529) else "api_error"
        body = {"type": "error", "error": {"type": kind, "message": error.message}}
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"


class AnthropicNative:
    protocol = "anthropic"

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
        payload = dict(body)
        payload["model"] = route.upstream_model
        adapter = self.adapter
        return Outbound(
            adapter.url(route, stream), orjson.dumps(payload), adapter.headers(route, headers)
        )

    def count_outbound(self, route: RouteEntry, body: dict[str, Any]) -> Outbound:
        payload = dict(body)
        payload["model"] = route.upstream_model
        adapter = self.adapter
        url = (route.provider.base_url or "").rstrip("/") + "/v1/messages/count_tokens"
        return Outbound(url, orjson.dumps(payload), adapter.headers(route))

    def usage(self, answer: dict[str, Any]) -> Usage | None:
        usage = answer.get("usage")
        return usage_of(usage) if isinstance(usage, dict) else None

    def text(self, answer: dict[str, Any]) -> str:
        text = ""
        for block in answer.get("content") or ():
            for name in ("text", "thinking"):
                text += str(block.get(name) or "")
            if block.get("type") == "tool_use":
                text += orjson.dumps(block.get("input") or {}).decode()
        return text

    def finish(
        self,
        answer: dict[str, Any],
        raw: bytes,
        model: str,
        cost: tuple[Decimal | None, int | None],
    ) -> bytes:
        if answer.get("model") == model:
            return raw
        answer["model"] = model
        return orjson.dumps(answer)

    def relay(
        self, tally: Tally, *, body: dict[str, Any], model: str, upstream_model: str, framing: str
    ) -> AnthropicRelay:
        return AnthropicRelay(tally, model, upstream_model)
