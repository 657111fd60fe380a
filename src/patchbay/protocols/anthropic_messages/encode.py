"""Canonical answer → Anthropic Messages response object."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import ReasoningPart, TextPart, ToolCall
from patchbay.domain.responses import ChatResponse, FinishReason
from patchbay.domain.usage import Usage
from patchbay.protocols.common import parse_arguments

STOP: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
    "error": "end_turn",
}


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens - usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": 0,
    }


def message_id(raw: str) -> str:
    return raw if raw.startswith("msg_") else f"msg_{raw.replace('-', '')[:24] or '0'}"


def encode_response(resp: ChatResponse) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for part in resp.message.parts:
        if isinstance(part, ReasoningPart):
            content.append(
                {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
            )
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ToolCall):
            content.append(
                {
                    "type": "tool_use",
                    "id": part.id,
                    "name": part.name,
                    "input": parse_arguments(part.arguments),
                }
            )
    return {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": content,
        "stop_reason": STOP[resp.finish_reason],
        "stop_sequence": None,
        "usage": usage_json(resp.usage),
    }
