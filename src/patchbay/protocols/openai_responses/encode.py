"""Canonical answer → Responses ``response`` object."""

from __future__ import annotations

import time
from typing import Any

from patchbay.domain.messages import ReasoningPart, TextPart, ToolCall
from patchbay.domain.responses import ChatResponse
from patchbay.domain.usage import Usage
from patchbay.protocols.common import new_id


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        # cache writes are not told apart from the prompt by every upstream: 0 when unknown
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": 0,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def message_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id or new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def call_item(call: ToolCall, item_id: str | None = None) -> dict[str, Any]:
    """A function call, or a custom tool call (its free-form ``input``), in its namespace."""
    item: dict[str, Any] = {"id": item_id or new_id("ctc_" if call.kind == "custom" else "fc_")}
    if call.kind == "custom":
        item.update(type="custom_tool_call", status="completed", call_id=call.id)
        item.update(name=call.name, input=call.arguments)
    else:
        item.update(type="function_call", status="completed", call_id=call.id)
        item.update(name=call.name, arguments=call.arguments)
    if call.namespace:
        item["namespace"] = call.namespace
    return item


def output_items(resp: ChatResponse) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text = "".join(p.text for p in resp.message.parts if isinstance(p, TextPart))
    reasoning = "".join(p.text for p in resp.message.parts if isinstance(p, ReasoningPart))
    if reasoning:
        items.append(
            {
                "id": new_id("rs_"),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": reasoning}],
            }
        )
    if text:
        items.append(message_item(text))
    items += [call_item(c) for c in resp.message.tool_calls()]
    return items


def response_object(
    response_id: str,
    model: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    finish: str,
    created: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    incomplete = finish in ("length", "content_filter")
    reason = "max_output_tokens" if finish == "length" else "content_filter"
    return {
        "id": response_id,
        "object": "response",
        "created_at": created or int(time.time()),
        "status": status or ("incomplete" if incomplete else "completed"),
        "incomplete_details": {"reason": reason} if incomplete else None,
        "error": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        "usage": usage_json(usage) if usage is not None else None,
    }


def encode_response(resp: ChatResponse, response_id: str | None = None) -> dict[str, Any]:
    return response_object(
        response_id or new_id("resp_"),
        resp.model,
        output_items(resp),
        resp.usage,
        resp.finish_reason,
        resp.created or None,
    )
