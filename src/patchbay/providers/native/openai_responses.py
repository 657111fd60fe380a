"""Responses clients on ``openai-responses`` upstreams: the body forwarded as it came (the
gateway has already replaced a ``previous_response_id`` it keeps by the stored items), with the
model rewritten. Streamed, delta events are held (parsed to count their text only if the stream
ends without usage) and the final
``response.completed`` / ``response.incomplete`` event is re-encoded with the cost added."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.protocols.openai_usage import add_cost
from patchbay.providers.base import HTTPAdapter, Outbound, Tally
from patchbay.providers.native.relay import SSERelay, event_data, loads, renamer
from patchbay.providers.openai_responses import usage_of

FINAL_NAMES = (b"response.completed", b"response.incomplete")
FINAL = tuple(b'"' + name + b'"' for name in FINAL_NAMES)


def answer_text(response: dict[str, Any]) -> str:
    text = ""
    for item in response.get("output") or ():
        if item.get("type") == "message":
            for part in item.get("content") or ():
                text += str(part.get("text") or "")
        elif item.get("type") == "function_call":
            text += str(item.get("arguments") or "")
        elif item.get("type") == "reasoning":
            text += "".join(str(s.get("text") or "") for s in item.get("summary") or ())
    return text


class ResponsesRelay(SSERelay):
    # the final event, re-encoded with the cost: its quoted type is in its data whether or not
    # the event is named (elsewhere only as a whole string value, which ``event`` sees through)
    marks = FINAL
    text_marks = (b'.delta"', b".delta\n")

    def __init__(self, tally: Tally, model: str, upstream_model: str) -> None:
        super().__init__()
        self.tally = tally
        self.model = model
        self.rename = renamer(upstream_model, model)
        self.created = b""  # the response.created payload: its id is read only if needed
        self.last = b""  # the last bytes sent: a failure's sequence number follows theirs

    def feed(self, chunk: bytes) -> bytes:
        out = super().feed(chunk)
        if out:
            self.last = out
        return out

    def _piece(self, whole: bytes) -> bytes:
        if not self.last:  # the stream's first events: response.created comes first
            first = whole.find(b"\n\n")
            if whole.find(b'"response.created"', 0, first) >= 0:
                self.created = event_data(whole[:first]) or b""
        return super()._piece(whole)

    def event(self, event: bytes) -> bytes:
        payload = event_data(event)
        if payload is None:
            return event + b"\n\n"
        newline = event.find(b"\n")
        if event.startswith(b"event:") and newline > 0:  # as OpenAI sends them: by name
            name = event[6:newline].strip()
            final, delta = name in FINAL_NAMES, name.endswith(b".delta")
            created = name == b"response.created"
        else:  # data-only events: the type is among the payload's first bytes
            head = payload[:120]
            final = any(marker in head for marker in FINAL)
            delta, created = head.find(b'.delta"') >= 0, head.find(b'"response.created"') >= 0
        if final:
            return self._final(event, payload)
        if delta:
            self.hold(payload)
        elif created:
            self.created = payload
        return self.rename(event) + b"\n\n"

    def text_in(self, data: Any) -> str:
        delta = data.get("delta") if isinstance(data, dict) else None
        return delta if isinstance(delta, str) else ""

    @property
    def response_id(self) -> str:
        """The id the upstream gave the response, from its ``response.created`` event."""
        if not self.created:
            return ""
        try:
            return str((orjson.loads(self.created).get("response") or {}).get("id") or "")
        except (orjson.JSONDecodeError, AttributeError):
            return ""

    def _final(self, event: bytes, payload: bytes) -> bytes:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return event + b"\n\n"
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            return event + b"\n\n"
        usage = response.get("usage")
        if isinstance(usage, dict):
            add_cost(usage, *self.report(usage_of(usage)))
        response["model"] = self.model
        self.final = response
        head = b"event: " + str(data.get("type", "")).encode() + b"\n"
        return head + b"data: " + orjson.dumps(data) + b"\n\n"

    def fail(self, error: GatewayError) -> bytes:
        response = {
            "id": self.response_id,
            "object": "response",
            "status": "failed",
            "model": self.model,
            "output": [],
            "error": {"code": "server_error", "message": error.message},
        }
        sequence = self._next_sequence()
        body = {"type": "response.failed", "sequence_number": sequence, "response": response}
        return b"event: response.failed\ndata: " + orjson.dumps(body) + b"\n\n"

    def _next_sequence(self) -> int:
        """The sequence number after the last event sent (0 if it had none)."""
        last = self.last.rstrip(b"\n")
        event = last[last.rfind(b"\n\n") + 1 :].strip(b"\n")
        payload = event_data(event) if event else None
        data = loads(payload) if payload else None
        number = data.get("sequence_number") if isinstance(data, dict) else None
        return number + 1 if isinstance(number, int) else 0


class ResponsesNative:
    protocol = "openai_responses"

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

    def usage(self, answer: dict[str, Any]) -> Usage | None:
        usage = answer.get("usage")
        return usage_of(usage) if isinstance(usage, dict) else None

    def text(self, answer: dict[str, Any]) -> str:
        return answer_text(answer)

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
    ) -> ResponsesRelay:
        return ResponsesRelay(tally, model, upstream_model)
