"""Anthropic Messages request → canonical ``ChatRequest``."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import (
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
)
from patchbay.domain.requests import ChatRequest, ToolChoice, ToolDefinition
from patchbay.protocols.common import dump_arguments
from patchbay.protocols.errors import RequestInvalid


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


def _image(block: dict[str, Any], where: str) -> ImagePart:
    source = block.get("source")
    if not isinstance(source, dict):
        raise RequestInvalid("image.source must be an object", f"{where}.source")
    if source.get("type") == "base64":
        return ImagePart(data=source.get("data"), media_type=source.get("media_type"))
    _require(
        source.get("type") == "url" and isinstance(source.get("url"), str),
        "image.source must be base64 or url",
        f"{where}.source",
    )
    return ImagePart(url=source["url"])


def _blocks(content: Any, where: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    _require(isinstance(content, list), "content must be a string or an array of blocks", where)
    parts: list[Part] = []
    for j, block in enumerate(content):
        at = f"{where}[{j}]"
        _require(
            isinstance(block, dict) and isinstance(block.get("type"), str),
            "each content block needs a type",
            at,
        )
        kind = block["type"]
        if kind == "text":
            _require(isinstance(block.get("text"), str), "text must be a string", f"{at}.text")
            parts.append(TextPart(block["text"]))
        elif kind == "image":
            parts.append(_image(block, at))
        elif kind == "tool_use":
            _require(isinstance(block.get("name"), str), "tool_use needs a name", f"{at}.name")
            parts.append(
                ToolCall(
                    str(block.get("id", "")), block["name"], dump_arguments(block.get("input"))
                )
            )
        elif kind == "tool_result":
            inner = [
                p
                for p in _blocks(block.get("content") or "", f"{at}.content")
                if isinstance(p, TextPart | ImagePart)
            ]
            parts.append(
                ToolResult(
                    str(block.get("tool_use_id", "")),
                    tuple(inner),
                    is_error=bool(block.get("is_error")),
                )
            )
        elif kind in ("thinking", "redacted_thinking"):
            parts.append(ReasoningPart(block.get("thinking", ""), block.get("signature")))
        else:
            raise RequestInvalid(f"unsupported content block type '{kind}'", f"{at}.type")
    return parts


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, list), "tools must be an array", "tools")
    tools = []
    for i, tool in enumerate(raw):
        _require(
            isinstance(tool, dict) and isinstance(tool.get("name"), str),
            "each tool needs a name",
            f"tools[{i}].name",
        )
        tools.append(
            ToolDefinition(tool["name"], tool.get("description"), tool.get("input_schema"))
        )
    return tuple(tools)


def _choice(raw: Any) -> tuple[ToolChoice | None, bool | None]:
    if raw is None:
        return None, None
    _require(isinstance(raw, dict), "tool_choice must be an object", "tool_choice")
    parallel = False if raw.get("disable_parallel_tool_use") else None
    mode = {"auto": "auto", "any": "required", "none": "none", "tool": "tool"}.get(raw.get("type"))
    _require(
        mode is not None, "tool_choice.type must be auto, any, tool or none", "tool_choice.type"
    )
    return ToolChoice(mode, raw.get("name")), parallel  # type: ignore[arg-type]


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    _require(isinstance(body.get("model"), str) and body["model"], "model is required", "model")
    max_tokens = body.get("max_tokens")
    _require(
        isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0,
        "max_tokens is required and must be a positive integer",
        "max_tokens",
    )
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise RequestInvalid("messages must be a non-empty array", "messages")
    messages = []
    for i, raw in enumerate(raw_messages):
        _require(
            isinstance(raw, dict) and raw.get("role") in ("user", "assistant"),
            "role must be 'user' or 'assistant'",
            f"messages[{i}].role",
        )
        _require("content" in raw, "content is required", f"messages[{i}].content")
        messages.append(
            Message(
                role=raw["role"], parts=tuple(_blocks(raw["content"], f"messages[{i}].content"))
            )
        )
    system = body.get("system")
    system_parts = (
        [p for p in _blocks(system, "system") if isinstance(p, TextPart)] if system else []
    )
    choice, parallel = _choice(body.get("tool_choice"))
    for name in ("temperature", "top_p"):
        value = body.get(name)
        _require(
            value is None or (isinstance(value, int | float) and not isinstance(value, bool)),
            f"{name} must be a number",
            name,
        )
    stop = body.get("stop_sequences")
    _require(
        stop is None or isinstance(stop, list), "stop_sequences must be an array", "stop_sequences"
    )
    stream = body.get("stream")
    _require(stream is None or isinstance(stream, bool), "stream must be a boolean", "stream")
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(messages),
        system=tuple(system_parts),
        tools=_tools(body.get("tools")),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        max_output_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=tuple(stop or ()),
        stream=stream is True,
        user=(body.get("metadata") or {}).get("user_id"),
    )
