"""Responses request → canonical ``ChatRequest`` (the translated path).

Never stricter than the official API. Input items the canonical form carries: messages (text,
images, files, audio), function and custom tool calls and their outputs, reasoning (its
summary text; ``encrypted_content`` is kept only for Responses upstreams). Other items
(hosted tool calls, item references) are dropped, as are tools other than function, custom,
namespace (flattened, ``domain.tools``) and web search — see docs/translation.md. The gateway
itself handles ``store`` and ``previous_response_id`` (api/responses.py).
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
from patchbay.domain.requests import (
    HOSTED_WEB_SEARCH,
    ChatRequest,
    ResponseFormat,
    ToolChoice,
    ToolDefinition,
)
from patchbay.domain.tools import flatten
from patchbay.protocols.common import joined_instructions, split_data_url
from patchbay.protocols.errors import RequestInvalid

ROLES = ("user", "assistant", "system", "developer")
WEB_SEARCH = ("web_search", "web_search_preview", "web_search_2025_08_26")
TEXT_TYPES = ("input_text", "output_text", "text", "summary_text", "reasoning_text")


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


def _image(item: dict[str, Any]) -> ImagePart | None:
    url = item.get("image_url")
    if not isinstance(url, str):
        return None  # a file_id image: nothing another kind can read
    media, data = split_data_url(url)
    detail = item.get("detail")
    if data is not None:
        return ImagePart(data=data, media_type=media, detail=detail)
    return ImagePart(url=url, detail=detail)


def _file(item: dict[str, Any]) -> FilePart:
    if item.get("type") == "input_audio":
        audio = item.get("input_audio") or {}
        audio = audio if isinstance(audio, dict) else {}
        return FilePart(data=audio.get("data"), media_type=f"audio/{audio.get('format', 'wav')}")
    media, data = split_data_url(str(item.get("file_data") or ""))
    return FilePart(
        data=data if data is not None else item.get("file_data"),
        url=item.get("file_url"),
        file_id=item.get("file_id"),
        media_type=media or "application/pdf",
        filename=item.get("filename"),
    )


def _content(raw: Any, where: str) -> list[TextPart | ImagePart | FilePart]:
    if isinstance(raw, str):
        return [TextPart(raw)] if raw else []
    if raw is None:
        return []
    _require(isinstance(raw, list), "content must be a string or an array", where)
    parts: list[TextPart | ImagePart | FilePart] = []
    for j, item in enumerate(raw):
        _require(isinstance(item, dict), "each content item must be an object", f"{where}[{j}]")
        kind = item.get("type")
        if kind in TEXT_TYPES:
            parts.append(TextPart(str(item.get("text", ""))))
        elif kind == "refusal":
            parts.append(TextPart(str(item.get("refusal", ""))))
        elif kind == "input_image":
            image = _image(item)
            if image is not None:
                parts.append(image)
        elif kind in ("input_file", "input_audio"):
            parts.append(_file(item))
    return parts


def _append(messages: list[Message], role: Role, part: Part) -> None:
    """Calls of one assistant turn, and consecutive reasoning, share a message."""
    if messages and messages[-1].role == role and role == "assistant":
        messages[-1] = Message(role, (*messages[-1].parts, part))
    else:
        messages.append(Message(role, (part,)))


def _reasoning(item: dict[str, Any]) -> ReasoningPart:
    summary = item.get("summary")
    summary = summary if isinstance(summary, list) else ()
    text = "".join(str(s.get("text", "")) for s in summary if isinstance(s, dict))
    kept = {k: item[k] for k in ("id", "encrypted_content") if item.get(k)}
    return ReasoningPart(text, extras={"openai": kept} if kept else {})


def _call_name(item: dict[str, Any]) -> str:
    name = str(item.get("name", ""))
    namespace = item.get("namespace")
    return flatten(namespace, name) if isinstance(namespace, str) and namespace else name


def _item(messages: list[Message], item: dict[str, Any], at: str) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        role: Role = item.get("role")  # type: ignore[assignment]
        _require(role in ROLES, "role must be user, assistant, system or developer", f"{at}.role")
        messages.append(
            Message(role=role, parts=tuple(_content(item.get("content"), f"{at}.content")))
        )
    elif kind in ("function_call", "custom_tool_call"):
        _require(isinstance(item.get("name"), str), f"{kind} needs a name", at)
        custom = kind == "custom_tool_call"
        arguments = item.get("input") if custom else item.get("arguments")
        call = ToolCall(
            str(item.get("call_id", "")),
            _call_name(item),
            str(arguments or ""),
            kind="custom" if custom else "function",
        )
        _append(messages, "assistant", call)
    elif kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        content = _content(output, f"{at}.output") if isinstance(output, list) else None
        if content is None:
            content = [TextPart(output if isinstance(output, str) else str(output))]
        messages.append(
            Message("tool", (ToolResult(str(item.get("call_id", "")), tuple(content)),))
        )
    elif kind == "reasoning":
        _append(messages, "assistant", _reasoning(item))
    # hosted tool calls and their outputs, item references: dropped (docs/translation.md)


def decode_input(raw: Any) -> list[Message]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [Message(role="user", parts=(TextPart(raw),))]
    _require(isinstance(raw, list), "input must be a string or an array of items", "input")
    messages: list[Message] = []
    for i, item in enumerate(raw):
        _require(isinstance(item, dict), "each input item must be an object", f"input[{i}]")
        _item(messages, item, f"input[{i}]")
    return messages


def _tool(tool: dict[str, Any], namespace: str | None = None) -> list[ToolDefinition]:
    kind = tool.get("type")
    if kind == "function" and isinstance(tool.get("name"), str):
        name = flatten(namespace, tool["name"]) if namespace else tool["name"]
        return [
            ToolDefinition(
                name,
                tool.get("description"),
                tool.get("parameters"),
                tool.get("strict"),
                namespace=namespace,
            )
        ]
    if kind == "custom" and isinstance(tool.get("name"), str):
        name = flatten(namespace, tool["name"]) if namespace else tool["name"]
        extras = {"format": tool["format"]} if isinstance(tool.get("format"), dict) else {}
        return [
            ToolDefinition(
                name, tool.get("description"), kind="custom", namespace=namespace, extras=extras
            )
        ]
    if kind == "namespace" and isinstance(tool.get("name"), str):
        inner = tool.get("tools") or ()
        _require(
            isinstance(inner, list | tuple) and all(isinstance(t, dict) for t in inner),
            "a namespace's tools must be an array of objects",
            "tools",
        )
        return [t for each in inner for t in _tool(each, tool["name"])]
    if kind in WEB_SEARCH:
        config = {k: v for k, v in tool.items() if k != "type"}
        return [ToolDefinition(HOSTED_WEB_SEARCH, kind="hosted", extras={"web_search": config})]
    return []  # other hosted tools: nothing to translate them to (docs/translation.md)


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, list), "tools must be an array", "tools")
    out: list[ToolDefinition] = []
    for i, tool in enumerate(raw):
        _require(isinstance(tool, dict), "each tool must be an object", f"tools[{i}]")
        out += _tool(tool)
    return tuple(out)


def _choice(raw: Any) -> ToolChoice | None:
    if raw is None:
        return None
    if raw in ("auto", "none", "required"):
        return ToolChoice(raw)
    _require(isinstance(raw, dict), "tool_choice is not valid", "tool_choice")
    kind = raw.get("type")
    if kind in ("function", "custom") and isinstance(raw.get("name"), str):
        return ToolChoice("tool", raw["name"])
    if kind == "allowed_tools":
        return ToolChoice("required" if raw.get("mode") == "required" else "auto")
    if kind in WEB_SEARCH:
        return ToolChoice("tool", HOSTED_WEB_SEARCH)
    return ToolChoice("auto")  # a hosted tool the target cannot run: the model decides


def _format(text: Any) -> ResponseFormat | None:
    fmt = (text or {}).get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt["type"] == "json_object":
        return ResponseFormat("json_object")
    if fmt["type"] == "json_schema":
        return ResponseFormat("json_schema", fmt.get("name"), fmt.get("schema"), fmt.get("strict"))
    return None


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    _require(isinstance(body.get("model"), str) and body["model"], "model is required", "model")
    limit = body.get("max_output_tokens")
    _require(
        limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit > 0),
        "max_output_tokens must be a positive integer",
        "max_output_tokens",
    )
    stream = body.get("stream")
    _require(stream is None or isinstance(stream, bool), "stream must be a boolean", "stream")
    instructions = body.get("instructions")
    system = [TextPart(instructions)] if isinstance(instructions, str) and instructions else []
    messages = decode_input(body.get("input"))
    while messages and messages[0].role in ("system", "developer"):  # leading: instructions
        leading = [p for p in messages.pop(0).parts if isinstance(p, TextPart)]
        system = joined_instructions(system, leading)
    raw_reasoning = body.get("reasoning")
    reasoning: dict[str, Any] = raw_reasoning if isinstance(raw_reasoning, dict) else {}
    effort = reasoning.get("effort")
    summary = reasoning.get("summary") or reasoning.get("generate_summary")
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(messages),
        system=tuple(system),
        tools=_tools(body.get("tools")),
        tool_choice=_choice(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        response_format=_format(body.get("text")),
        max_output_tokens=limit,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        reasoning_effort=effort if isinstance(effort, str) else None,
        reasoning_summary=bool(summary) and summary != "none",
        stream=stream is True,
        user=body.get("user") or body.get("safety_identifier"),
    )
