"""Chat Completions request body → canonical ``ChatRequest`` (the translated path).

Never stricter than the official API: what it accepts decodes, and what the canonical form
cannot carry is dropped or approximated as ``docs/translation.md`` says — content parts other
than text, images, files and audio; hosted tools other than web search; sampling options an
upstream kind does not have. Leading system/developer messages become the instructions; later
ones stay in place. The deprecated ``functions``/``function_call`` are read as tools.
"""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import (
    FilePart,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCall,
    ToolResult,
)
from patchbay.domain.requests import ChatRequest, ResponseFormat, ToolChoice, ToolDefinition
from patchbay.protocols.common import joined_instructions, split_data_url
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.openai_chat.validate import validate_request

KNOWN = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "functions",
    "function_call",
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
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
ResultContent = TextPart | ImagePart | FilePart


def _image(part: dict[str, Any], where: str) -> ImagePart:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise RequestInvalid(f"{where}.image_url.url must be a string", f"{where}.image_url")
    detail = image.get("detail") if isinstance(image, dict) else None
    media_type, data = split_data_url(url)
    if data is not None:
        return ImagePart(data=data, media_type=media_type, detail=detail)
    return ImagePart(url=url, detail=detail)


def _file(part: dict[str, Any]) -> FilePart | None:
    if part.get("type") == "input_audio":
        audio = part.get("input_audio") or {}
        if not isinstance(audio, dict):
            return None
        fmt = str(audio.get("format") or "wav")
        return FilePart(data=audio.get("data"), media_type=AUDIO_TYPES.get(fmt, f"audio/{fmt}"))
    file = part.get("file") or {}
    if not isinstance(file, dict):
        return None
    media_type, data = split_data_url(str(file.get("file_data") or ""))
    return FilePart(
        data=data if data is not None else file.get("file_data"),
        file_id=file.get("file_id"),
        media_type=media_type or "application/pdf",
        filename=file.get("filename"),
    )


def _parts(content: Any, where: str) -> list[ResultContent]:
    """Content as parts; part types the canonical form cannot carry are dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[ResultContent] = []
    for j, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            parts.append(TextPart(str(part.get("text", ""))))
        elif kind == "refusal":
            parts.append(TextPart(str(part.get("refusal", ""))))
        elif kind == "image_url":
            parts.append(_image(part, f"{where}[{j}]"))
        elif kind in ("file", "input_audio"):
            file = _file(part)
            if file is not None:
                parts.append(file)
    return parts


def _tool_call(index: int, j: int, call: Any) -> ToolCall:
    where = f"messages[{index}].tool_calls[{j}]"
    if not isinstance(call, dict):
        raise RequestInvalid("each tool call must be an object", where)
    if call.get("type") == "custom":
        custom = call.get("custom") or {}
        if not isinstance(custom, dict):
            raise RequestInvalid("a custom tool call needs custom.name", f"{where}.custom")
        return ToolCall(
            str(call.get("id", "")),
            str(custom.get("name", "")),
            str(custom.get("input", "")),
            kind="custom",
        )
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise RequestInvalid("tool call needs function.name", where)
    arguments = function.get("arguments")
    return ToolCall(
        id=str(call.get("id", "")),
        name=function["name"],
        arguments=arguments if isinstance(arguments, str) else "{}",
    )


def _message(index: int, raw: dict[str, Any]) -> Message:
    role = raw["role"]
    where = f"messages[{index}].content"
    if role not in ROLES:  # as the official API answers; same-protocol calls forward it
        raise RequestInvalid(
            f"messages[{index}].role must be one of {', '.join(ROLES)}", f"messages[{index}].role"
        )
    if role in ("tool", "function"):  # "function": the deprecated result, named by its function
        content = tuple(_parts(raw.get("content"), where))
        call_id = raw.get("tool_call_id") if role == "tool" else raw.get("name")
        result = ToolResult(call_id=str(call_id or ""), content=content, name=raw.get("name"))
        return Message(role="tool", parts=(result,))
    parts: list[Part] = []
    reasoning = raw.get("reasoning_content") if role == "assistant" else None
    if isinstance(reasoning, str) and reasoning:
        parts.append(ReasoningPart(reasoning))
    parts += _parts(raw.get("content"), where)
    if role == "assistant" and isinstance(raw.get("refusal"), str) and not raw.get("content"):
        parts.append(TextPart(raw["refusal"]))
    calls = raw.get("tool_calls") or []
    if not isinstance(calls, list):
        raise RequestInvalid("tool_calls must be an array", f"messages[{index}].tool_calls")
    for j, call in enumerate(calls):
        parts.append(_tool_call(index, j, call))
    legacy = raw.get("function_call")
    if role == "assistant" and isinstance(legacy, dict) and legacy.get("name"):
        arguments = legacy.get("arguments")
        name = str(legacy["name"])
        parts.append(ToolCall(name, name, arguments if isinstance(arguments, str) else "{}"))
    message_role: Role = role
    author = raw.get("name")
    return Message(
        role=message_role, parts=tuple(parts), name=author if isinstance(author, str) else None
    )


def _tools(body: dict[str, Any]) -> tuple[ToolDefinition, ...]:
    tools: list[ToolDefinition] = []
    for tool in body.get("tools") or ():
        kind = tool.get("type", "function")
        if kind == "function":
            function = tool["function"]
            tools.append(
                ToolDefinition(
                    name=function["name"],
                    description=function.get("description"),
                    parameters=function.get("parameters"),
                    strict=function.get("strict"),
                )
            )
        elif kind == "custom":
            custom = tool.get("custom") or {}
            if not isinstance(custom, dict):
                raise RequestInvalid("a custom tool needs custom.name", "tools")
            tools.append(
                ToolDefinition(
                    name=str(custom.get("name", "")),
                    description=custom.get("description"),
                    kind="custom",
                    extras={"format": custom["format"]} if "format" in custom else {},
                )
            )
        # other tool types: nothing to translate them to (docs/translation.md)
    functions = body.get("functions") or ()
    if not isinstance(functions, list | tuple):
        raise RequestInvalid("functions must be an array", "functions")
    for function in functions:
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            tools.append(
                ToolDefinition(
                    function["name"], function.get("description"), function.get("parameters")
                )
            )
    if body.get("web_search_options") is not None:
        tools.append(
            ToolDefinition(
                "web_search", kind="hosted", extras={"web_search": body["web_search_options"]}
            )
        )
    return tuple(tools)


def _tool_choice(value: Any, legacy: Any) -> ToolChoice | None:
    if value is None:
        value = legacy if legacy in ("auto", "none") else None
        if isinstance(legacy, dict) and legacy.get("name"):
            return ToolChoice(mode="tool", name=str(legacy["name"]))
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return ToolChoice(mode=value)
    if isinstance(value, dict):
        for kind in ("function", "custom"):
            named = value.get(kind)
            if isinstance(named, dict):
                if not isinstance(named.get("name"), str):
                    raise RequestInvalid("tool_choice needs a tool name", f"tool_choice.{kind}")
                return ToolChoice(mode="tool", name=named["name"])
        allowed = value.get("allowed_tools")
        if isinstance(allowed, dict):  # a subset of the tools: approximated by its mode
            return ToolChoice(mode="required" if allowed.get("mode") == "required" else "auto")
    raise RequestInvalid("tool_choice is not valid", "tool_choice")


def _response_format(value: Any) -> ResponseFormat | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind == "json_schema":
        schema = value.get("json_schema") or {}
        if not isinstance(schema, dict):
            raise RequestInvalid(
                "response_format.json_schema must be an object", "response_format.json_schema"
            )
        return ResponseFormat(
            "json_schema",
            name=schema.get("name"),
            schema=schema.get("schema"),
            strict=schema.get("strict"),
        )
    if kind == "json_object":
        return ResponseFormat(kind)
    return None  # text, and grammar formats no other kind has: answered as plain text


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    validate_request(body)
    system: list[TextPart] = []
    messages: list[Message] = []
    for index, raw in enumerate(body["messages"]):
        if raw["role"] in ("system", "developer") and not messages:
            parts = _parts(raw.get("content"), f"messages[{index}].content")
            system = joined_instructions(system, [p for p in parts if isinstance(p, TextPart)])
        else:
            messages.append(_message(index, raw))
    stop = body.get("stop")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    effort = body.get("reasoning_effort")
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(messages),
        system=tuple(system),
        tools=_tools(body),
        tool_choice=_tool_choice(body.get("tool_choice"), body.get("function_call")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        response_format=_response_format(body.get("response_format")),
        max_output_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        reasoning_effort=effort if isinstance(effort, str) else None,
        stream=body.get("stream") is True,
        user=body.get("user") or body.get("safety_identifier"),
        extras={"openai": {k: v for k, v in body.items() if k not in KNOWN}},
    )
