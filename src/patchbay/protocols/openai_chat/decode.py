"""Chat Completions request body → canonical ``ChatRequest`` (call ``validate`` first)."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import ImagePart, Message, Part, TextPart, ToolCall, ToolResult
from patchbay.domain.requests import ChatRequest, ResponseFormat, ToolChoice, ToolDefinition
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.openai_chat.validate import validate_request

KNOWN = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "reasoning_effort",
    "user",
}


def _image(part: dict[str, Any], where: str) -> ImagePart:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise RequestInvalid(f"{where}.image_url.url must be a string", f"{where}.image_url")
    detail = image.get("detail") if isinstance(image, dict) else None
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return ImagePart(data=data, media_type=media_type or None, detail=detail)
    return ImagePart(url=url, detail=detail)


def _parts(content: Any, where: str) -> list[TextPart | ImagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[TextPart | ImagePart] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(str(part.get("text", ""))))
        elif kind == "image_url":
            parts.append(_image(part, f"{where}[{j}]"))
        else:
            raise RequestInvalid(f"unsupported content part type '{kind}'", f"{where}[{j}].type")
    return parts


ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _message(index: int, raw: dict[str, Any]) -> Message:
    role = raw["role"]
    where = f"messages[{index}].content"
    if role not in ROLES:  # as the official API answers; same-protocol calls forward it
        raise RequestInvalid(
            f"messages[{index}].role must be one of {', '.join(ROLES)}", f"messages[{index}].role"
        )
    if role == "function":  # the deprecated form of a tool result, named by its function
        name = str(raw.get("name") or "")
        content = tuple(_parts(raw.get("content"), where))
        return Message(role="tool", parts=(ToolResult(call_id=name, content=content, name=name),))
    if role == "tool":
        content = tuple(_parts(raw.get("content"), where))
        result = ToolResult(call_id=raw["tool_call_id"], content=content, name=raw.get("name"))
        return Message(role="tool", parts=(result,))
    parts: list[Part] = list(_parts(raw.get("content"), where))
    for j, call in enumerate(raw.get("tool_calls") or []):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise RequestInvalid(
                "tool call needs function.name", f"messages[{index}].tool_calls[{j}]"
            )
        arguments = function.get("arguments")
        parts.append(
            ToolCall(
                id=str(call.get("id", "")),
                name=function["name"],
                arguments=arguments if isinstance(arguments, str) else "{}",
            )
        )
    return Message(
        role="developer" if role == "developer" else role, parts=tuple(parts), name=raw.get("name")
    )


def _tool_choice(value: Any) -> ToolChoice | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return ToolChoice(mode=value)
    if isinstance(value, dict) and isinstance(value.get("function"), dict):
        return ToolChoice(mode="tool", name=value["function"].get("name"))
    raise RequestInvalid("tool_choice is not valid", "tool_choice")


def _response_format(value: Any) -> ResponseFormat | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind == "json_schema":
        schema = value.get("json_schema") or {}
        return ResponseFormat(
            "json_schema",
            name=schema.get("name"),
            schema=schema.get("schema"),
            strict=schema.get("strict"),
        )
    if kind in ("json_object", "text"):
        return ResponseFormat(kind)
    raise RequestInvalid(
        "response_format.type must be text, json_object or json_schema", "response_format.type"
    )


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    validate_request(body)
    system: list[TextPart] = []
    messages: list[Message] = []
    for index, raw in enumerate(body["messages"]):
        if raw["role"] in ("system", "developer") and not messages:
            system.extend(
                p
                for p in _parts(raw.get("content"), f"messages[{index}].content")
                if isinstance(p, TextPart)
            )
        else:
            messages.append(_message(index, raw))
    tools = tuple(
        ToolDefinition(
            name=t["function"]["name"],
            description=t["function"].get("description"),
            parameters=t["function"].get("parameters"),
            strict=t["function"].get("strict"),
        )
        for t in body.get("tools") or ()
        if t.get("type", "function") == "function"  # other tool types: docs/translation.md
    )
    stop = body.get("stop")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(messages),
        system=tuple(system),
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        response_format=_response_format(body.get("response_format")),
        max_output_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        reasoning_effort=body.get("reasoning_effort"),
        stream=body.get("stream") is True,
        user=body.get("user"),
        extras={"openai": {k: v for k, v in body.items() if k not in KNOWN}},
    )
