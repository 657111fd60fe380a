"""Canonical answer → Gemini ``GenerateContentResponse``."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import ReasoningPart, TextPart, ToolCall
from patchbay.domain.responses import ChatResponse, FinishReason
from patchbay.domain.usage import Usage
from patchbay.protocols.common import parse_arguments

FINISH: dict[FinishReason, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
    "error": "OTHER",
}


def usage_json(usage: Usage) -> dict[str, Any]:
    out = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_input_tokens:
        out["cachedContentTokenCount"] = usage.cached_input_tokens
    return out


def call_part(call: ToolCall) -> dict[str, Any]:
    return {
        "functionCall": {"id": call.id, "name": call.name, "args": parse_arguments(call.arguments)}
    }


def encode_response(resp: ChatResponse) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for part in resp.message.parts:
        if isinstance(part, ReasoningPart):
            parts.append({"text": part.text, "thought": True})
        elif isinstance(part, TextPart):
            parts.append({"text": part.text})
        elif isinstance(part, ToolCall):
            parts.append(call_part(part))
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": FINISH[resp.finish_reason],
                "index": 0,
            }
        ],
        "usageMetadata": usage_json(resp.usage),
        "modelVersion": resp.model,
        "responseId": resp.id,
    }
