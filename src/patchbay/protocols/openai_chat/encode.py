"""Canonical ``ChatResponse`` → Chat Completions response object."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import ReasoningPart, ToolCall
from patchbay.domain.responses import ChatResponse
from patchbay.domain.usage import Usage

FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "error": "stop",
}


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def tool_call(call: ToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return {
            "id": call.id,
            "type": "custom",
            "custom": {"name": call.name, "input": call.arguments},
        }
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def encode_response(resp: ChatResponse) -> dict[str, Any]:
    calls = resp.message.tool_calls()
    text = resp.message.text()  # null content is for an answer of tool calls only
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    reasoning = "".join(p.text for p in resp.message.parts if isinstance(p, ReasoningPart))
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [tool_call(c) for c in calls]
    message["refusal"] = None
    return {
        "id": resp.id if resp.id.startswith("chatcmpl") else f"chatcmpl-{resp.id}",
        "object": "chat.completion",
        "created": resp.created,
        "model": resp.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH[resp.finish_reason],
            }
        ],
        "usage": usage_json(resp.usage),
    }
