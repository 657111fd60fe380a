"""Canonical events → Anthropic's stream: ``message_start``, ``content_block_start`` /
``_delta`` / ``_stop`` per block, ``message_delta`` (stop reason, usage), ``message_stop``."""

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
from patchbay.domain.usage import Usage
from patchbay.protocols.anthropic_messages.encode import STOP, message_id, usage_json
from patchbay.protocols.sse import frame

TEXT_HEAD = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"text_delta","text":'
)


class StreamEncoder:
    def __init__(self, *, model: str, include_usage: bool = True) -> None:
        self.model = model
        self.final: dict[str, Any] | None = None  # no whole-answer object in this stream
        self.block = -1
        self.open_kind: str | None = None
        self.tools: dict[int, int] = {}  # tool call index -> block index
        self.usage = Usage()
        self.text_head = b""  # the open text block's delta event, up to its text

    def _emit(self, kind: str, data: dict[str, Any]) -> bytes:
        return frame({"type": kind, **data}, event=kind)

    def _close(self) -> bytes:
        if self.open_kind is None:
            return b""
        self.open_kind = None
        return self._emit("content_block_stop", {"index": self.block})

    def _open(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.block += 1
        self.open_kind = kind
        return out + self._emit(
            "content_block_start", {"index": self.block, "content_block": block}
        )

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            if self.open_kind == "text":  # _emit's bytes, from a template
                return self.text_head + orjson.dumps(event.text) + b"}}\n\n"
            out = self._open("text", {"type": "text", "text": ""})
            self.text_head = TEXT_HEAD % self.block
            return out + self.text_head + orjson.dumps(event.text) + b"}}\n\n"
        if isinstance(event, ToolCallDelta):
            return self._emit(
                "content_block_delta",
                {
                    "index": self.tools.get(event.index, self.block),
                    "delta": {"type": "input_json_delta", "partial_json": event.arguments},
                },
            )
        if isinstance(event, ToolCallStart):
            out = self._open(
                "tool", {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            )
            self.tools[event.index] = self.block
            return out
        if isinstance(event, ReasoningDelta):
            return self._reasoning(event)
        if isinstance(event, Start):
            message: dict[str, Any] = {
                "id": message_id(event.id),
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage_json(Usage()),
            }
            return self._emit("message_start", {"message": message}) + self._emit("ping", {})
        if isinstance(event, UsageReport):
            self.usage = event.usage
            return b""
        if isinstance(event, Finish):
            return (
                self._close()
                + self._emit(
                    "message_delta",
                    {
                        "delta": {"stop_reason": STOP[event.reason], "stop_sequence": None},
                        "usage": usage_json(self.usage),
                    },
                )
                + self._emit("message_stop", {})
            )
        if isinstance(event, StreamError):
            kind = "overloaded_error" if event.status in (429, 503, 529) else "api_error"
            return self._close() + self._emit(
                "error", {"error": {"type": kind, "message": event.message}}
            )
        return b""

    def _reasoning(self, event: ReasoningDelta) -> bytes:
        out = (
            b""
            if self.open_kind == "thinking"
            else self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        )
        if event.text:
            out += self._emit(
                "content_block_delta",
                {"index": self.block, "delta": {"type": "thinking_delta", "thinking": event.text}},
            )
        if event.signature:
            out += self._emit(
                "content_block_delta",
                {
                    "index": self.block,
                    "delta": {"type": "signature_delta", "signature": event.signature},
                },
            )
        return out
