"""Responses request → canonical ``ChatRequest`` (plus the fields the gateway itself handles:
``store`` and ``previous_response_id``)."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import ImagePart, Message, Part, TextPart, ToolCall, ToolResult
from patchbay.domain.requests import ChatRequest, ResponseFormat, ToolChoice, ToolDefinition
from patchbay.protocols.common import split_data_url
from patchbay.protocols.errors import RequestInvalid


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


def _content(raw: Any, where: str) -> list[Part]:
    if isinstance(raw, str):
        return [TextPart(raw)]
    _require(isinstance(raw, list), "content must be a string or an array", where)
    parts: list[Part] = []
    for j, item in enumerate(raw):
        at = f"{where}[{j}]"
        _require(isinstance(item, dict), "each content item must be an object", at)
        kind = item.get("type")
        if kind in ("input_text", "output_text", "text"):
            _require(isinstance(item.get("text"), str), "text must be a string", f"{at}.text")
            parts.append(TextPart(item["text"]))
        elif kind == "input_image":
            url = item.get("image_url")
            _require(isinstance(url, str), "input_image needs an image_url", f"{at}.image_url")
            media, data = split_data_url(url)
            parts.append(
                ImagePart(data=data, media_type=media, detail=item.get("detail"))
                if data
                else ImagePart(url=url, detail=item.get("detail"))
            )
        else:
            raise RequestInvalid(f"unsupported content type '{kind}'", f"{at}.type")
    return parts


def decode_input(raw: Any) -> list[Message]:
    if isinstance(raw, str):
        return [Message(role="user", parts=(TextPart(raw),))]
    _require(isinstance(raw, list), "input must be a string or an array of items", "input")
    messages: list[Message] = []
    for i, item in enumerate(raw):
        at = f"input[{i}]"
        _require(isinstance(item, dict), "each input item must be an object", at)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            _require(
                role in ("user", "assistant", "system", "developer"),
                "role must be user, assistant, system or developer",
                f"{at}.role",
            )
            messages.append(
                Message(role=role, parts=tuple(_content(item.get("content"), f"{at}.content")))
            )
        elif kind == "function_call":
            _require(isinstance(item.get("name"), str), "function_call needs a name", at)
            call = ToolCall(
                str(item.get("call_id", "")), item["name"], str(item.get("arguments") or "")
            )
            if messages and messages[-1].role == "assistant":
                messages[-1] = Message("assistant", messages[-1].parts + (call,))
            else:
                messages.append(Message("assistant", (call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else str(output)
            result = ToolResult(str(item.get("call_id", "")), (TextPart(text),))
            messages.append(Message("tool", (result,)))
        elif kind == "reasoning":
            continue
        else:
            raise RequestInvalid(f"unsupported input item type '{kind}'", f"{at}.type")
    return messages


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, list), "tools must be an array", "tools")
    out = []
    for i, tool in enumerate(raw):
        _require(
            isinstance(tool, dict) and tool.get("type") == "function",
            "only function tools are supported",
            f"tools[{i}].type",
        )
        _require(
            isinstance(tool.get("name"), str), "function tools need a name", f"tools[{i}].name"
        )
        out.append(
            ToolDefinition(
                tool["name"], tool.get("description"), tool.get("parameters"), tool.get("strict")
            )
        )
    return tuple(out)


def _choice(raw: Any) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        return ToolChoice(raw)
    _require(
        isinstance(raw, dict) and isinstance(raw.get("name"), str),
        "tool_choice is not valid",
        "tool_choice",
    )
    return ToolChoice("tool", raw["name"])


def _format(text: Any) -> ResponseFormat | None:
    fmt = (text or {}).get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return ResponseFormat("json_object")
    _require(fmt["type"] == "json_schema", "text.format.type is not valid", "text.format.type")
    return ResponseFormat("json_schema", fmt.get("name"), fmt.get("schema"), fmt.get("strict"))


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    _require(isinstance(body.get("model"), str) and body["model"], "model is required", "model")
    _require("input" in body, "input is required", "input")
    limit = body.get("max_output_tokens")
    _require(
        limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit > 0),
        "max_output_tokens must be a positive integer",
        "max_output_tokens",
    )
    stream = body.get("stream")
    _require(stream is None or isinstance(stream, bool), "stream must be a boolean", "stream")
    instructions = body.get("instructions")
    _require(
        instructions is None or isinstance(instructions, str),
        "instructions must be a string",
        "instructions",
    )
    raw_reasoning = body.get("reasoning")
    reasoning: dict[str, Any] = raw_reasoning if isinstance(raw_reasoning, dict) else {}
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(decode_input(body["input"])),
        system=(TextPart(instructions),) if instructions else (),
        tools=_tools(body.get("tools")),
        tool_choice=_choice(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        response_format=_format(body.get("text")),
        max_output_tokens=limit,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        reasoning_effort=reasoning.get("effort"),
        stream=stream is True,
        user=body.get("user"),
    )
