"""Canonical events → Gemini stream chunks (SSE with ``alt=sse``). Text goes out as it comes;
a function call goes out whole once its arguments are complete (as Gemini sends them)."""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.domain.events import (
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from patchbay.domain.messages import ToolCall
from patchbay.domain.usage import Usage
from patchbay.protocols.gemini.encode import FINISH, call_part, usage_json


class StreamEncoder:
    """``framing="sse"`` (``alt=sse``) sends each chunk as an SSE event; ``"json-array"`` (a
    stream asked for without ``alt=sse``) sends the chunks as the elements of one JSON array."""

    def __init__(self, *, model: str, include_usage: bool = True, framing: str = "sse") -> None:
        self.model = model
        self.final: dict[str, Any] | None = None  # no whole-answer object in this stream
        self.array = framing == "json-array"
        self.sent = 0
        self.id = ""
        self.calls: dict[int, list[str]] = {}
        self.usage = Usage()

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        body: dict[str, Any] = {
            "candidates": [candidate],
            "modelVersion": self.model,
            "responseId": self.id,
        }
        if finish:
            body["usageMetadata"] = usage_json(self.usage)
        return self._frame(orjson.dumps(body), last=finish is not None)

    def _frame(self, payload: bytes, last: bool = False) -> bytes:
        if not self.array:
            return b"data: " + payload + b"\r\n\r\n"
        self.sent += 1
        return (b"[" if self.sent == 1 else b",") + payload + (b"]" if last else b"")

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk([{"text": event.text}]) if event.text else b""
        if isinstance(event, ToolCallDelta):
            self.calls.setdefault(event.index, ["", ""]).append(event.arguments)
            return b""
        if isinstance(event, ToolCallStart):
            self.calls[event.index] = [event.id, event.name]
            return b""
        if isinstance(event, ReasoningDelta):
            return self._chunk([{"text": event.text, "thought": True}]) if event.text else b""
        if isinstance(event, Start):
            self.id = event.id
            return b""
        if isinstance(event, UsageReport):
            self.usage = event.usage
            return b""
        if isinstance(event, Finish):
            parts = [
                call_part(ToolCall(c[0], c[1], "".join(c[2:])))
                for _, c in sorted(self.calls.items())
            ]
            return self._chunk(parts, FINISH[event.reason])
        if isinstance(event, StreamError):
            status = "UNAVAILABLE" if event.status >= 500 else "INVALID_ARGUMENT"
            error = {"error": {"code": event.status, "message": event.message, "status": status}}
            return self._frame(orjson.dumps(error), last=True)
        return b""
