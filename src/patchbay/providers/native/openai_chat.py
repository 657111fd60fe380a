"""Chat Completions clients on ``openai`` upstreams: the body forwarded as it came, with the
model rewritten and ``stream_options.include_usage`` switched on so the call can be metered.
A stream event is parsed only to read its usage (text deltas are held, and counted only if the
stream ends without usage); the usage chunk alone is re-encoded, with the cost added (and
dropped again if the client had not asked for usage)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.protocols.openai_usage import add_cost, usage_from_openai_chat
from patchbay.providers.base import HTTPAdapter, Outbound, Tally
from patchbay.providers.native.relay import SSERelay, loads, renamer

DONE = b"data: [DONE]\n\n"


class ChatRelay(SSERelay):
    # usage that is not null, and the end: every other chunk is renamed and held as it came
    marks = (b'"usage"', b"[DONE]")
    text_marks = (b'"content"', b'"arguments"')

    def __init__(self, tally: Tally, model: str, upstream_model: str, include_usage: bool):
        super().__init__()
        self.tally = tally
        self.model = model
        self.include_usage = include_usage
        self.rename = renamer(upstream_model, model)
        self.pending: Usage | None = None

    def plain_at(self, whole: bytes, after: int) -> bool:
        return whole.startswith(b":null", after) or whole.startswith(b": null", after)

    def event(self, event: bytes) -> bytes:
        if not event.startswith(b"data:"):
            return event + b"\n\n"
        payload = event[5:].strip()
        if payload == b"[DONE]":
            return DONE
        if (
            payload.find(b'"usage"') < 0
            or payload.find(b'"usage":null') >= 0
            or payload.find(b'"usage": null') >= 0
        ):
            self._observe(payload)
        else:
            final = self._usage_event(payload)  # re-encoded with the client's model
            if final is not None:
                return final
        return self.rename(event) + b"\n\n"

    def _observe(self, payload: bytes) -> None:
        """Hold a chunk that carries text, so a cut stream is charged for it."""
        if payload.find(b'"content"') >= 0 or payload.find(b'"arguments"') >= 0:
            self.hold(payload)

    def text_in(self, data: Any) -> str:
        return self._text(data) if isinstance(data, dict) else ""

    def _text(self, data: dict[str, Any]) -> str:
        text = ""
        for choice in data.get("choices") or ():
            delta = choice.get("delta") or {}
            for name in ("reasoning_content", "content"):  # both count, as in a whole answer
                if isinstance(part := delta.get(name), str):
                    text += part
            for call in delta.get("tool_calls") or ():
                text += (call.get("function") or {}).get("arguments") or ""
        return text

    def _usage_event(self, payload: bytes) -> bytes | None:
        """The final usage chunk, settled and re-encoded; ``None`` for any other chunk that
        names usage (sent as it came, renamed)."""
        data = loads(payload)
        if not isinstance(data, dict):
            return None
        usage = usage_from_openai_chat(data.get("usage"))
        if usage is None:
            self._observe(payload)
            return None
        choices = data.get("choices") or ()
        if choices and not any(c.get("finish_reason") for c in choices):
            # some servers report running usage on every chunk: the last one counts
            self.pending = usage
            self._observe(payload)
            return None
        self.pending = None
        cost_usd, cost_points = self.report(usage)
        data["model"] = self.model
        if not self.include_usage:
            if not choices:
                return b""
            data.pop("usage", None)
        else:
            add_cost(data["usage"], cost_usd, cost_points)
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def end(self) -> bytes:
        if self.pending is not None:
            self.report(self.pending)
            self.pending = None
        return b""

    def fail(self, error: GatewayError) -> bytes:
        body = {"error": {"type": error.kind, "message": error.message, "code": error.code}}
        return b"data: " + orjson.dumps(body) + b"\n\n" + DONE


class ChatNative:
    protocol = "openai_chat"

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
        if stream:
            options = payload.get("stream_options")
            payload["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        adapter = self.adapter
        return Outbound(
            adapter.url(route, stream), orjson.dumps(payload), adapter.headers(route, headers)
        )

    def usage(self, answer: dict[str, Any]) -> Usage | None:
        return usage_from_openai_chat(answer.get("usage"))

    def text(self, answer: dict[str, Any]) -> str:
        text = ""
        for choice in answer.get("choices") or ():
            message = choice.get("message") or {}
            text += str(message.get("content") or "") + str(message.get("reasoning_content") or "")
            for call in message.get("tool_calls") or ():
                text += str((call.get("function") or {}).get("arguments") or "")
        return text

    def finish(
        self,
        answer: dict[str, Any],
        raw: bytes,
        model: str,
        cost: tuple[Decimal | None, int | None],
    ) -> bytes:
        answer["model"] = model
        usage = answer.get("usage")
        if isinstance(usage, dict):
            add_cost(usage, *cost)
        return orjson.dumps(answer)

    def relay(
        self, tally: Tally, *, body: dict[str, Any], model: str, upstream_model: str, framing: str
    ) -> ChatRelay:
        options = body.get("stream_options")
        include = isinstance(options, dict) and options.get("include_usage") is True
        return ChatRelay(tally, model, upstream_model, include)
