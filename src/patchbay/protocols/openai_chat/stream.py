"""Canonical stream events → Chat Completions ``chat.completion.chunk`` SSE frames."""

from __future__ import annotations

import time
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
from patchbay.protocols.openai_chat.encode import FINISH, usage_json
from patchbay.protocols.openai_usage import add_cost

DONE = b"data: [DONE]\n\n"


class StreamEncoder:
    def __init__(self, *, model: str, include_usage: bool = True) -> None:
        self.model = model
        self.final: dict[str, Any] | None = None  # no whole-answer object in this stream
        self.include_usage = include_usage
        self.id = "chatcmpl-pending"
        self.created = int(time.time())
        self.usage: UsageReport | None = None
        self.custom: set[int] = set()  # indexes of custom tool calls
        self.finish: str | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ToolCallDelta):
            key, field = (
                ("custom", "input") if event.index in self.custom else ("function", "arguments")
            )
            return self._chunk(
                {"tool_calls": [{"index": event.index, key: {field: event.arguments}}]}
            )
        if isinstance(event, ToolCallStart):
            if event.kind == "custom":
                self.custom.add(event.index)
                call = {"type": "custom", "custom": {"name": event.name, "input": ""}}
            else:
                call = {"type": "function", "function": {"name": event.name, "arguments": ""}}
            return self._chunk({"tool_calls": [{"index": event.index, "id": event.id, **call}]})
        if isinstance(event, ReasoningDelta):
            return self._chunk({"reasoning_content": event.text})
        if isinstance(event, Start):
            self.id = event.id if event.id.startswith("chatcmpl") else f"chatcmpl-{event.id}"
            self.created = event.created or self.created
            return self._chunk({"role": "assistant", "content": ""})
        if isinstance(event, UsageReport):
            self.usage = event
            return b""
        if isinstance(event, Finish):
            return self._chunk({}, FINISH[event.reason]) + self._usage_chunk() + DONE
        if isinstance(event, StreamError):
            error = {
                "error": {"type": event.kind, "message": event.message, "code": str(event.status)}
            }
            return b"data: " + orjson.dumps(error) + b"\n\n" + DONE
        return b""

    def _usage_chunk(self) -> bytes:
        if not self.include_usage or self.usage is None:
            return b""
        usage = usage_json(self.usage.usage)
        add_cost(usage, self.usage.cost_usd, self.usage.cost_points)
        data = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"
