"""Anthropic Messages request → canonical ``ChatRequest`` (the translated path).

Never stricter than the official API: ``system`` messages inside ``messages`` (Claude Code
sends them) stay in place, ``max_tokens`` may be 0, any content block decodes. Blocks the
canonical form carries: text, image, document (PDF, text, URL), thinking (with its signature,
for Anthropic upstreams) and redacted thinking, tool use and tool results. Server-tool blocks
(``server_tool_use``, ``*_tool_result`` of hosted tools, ``container_upload``, search results'
citations) are dropped; ``web_search_*`` server tools become the hosted web search, other
server tools are dropped (docs/translation.md). ``thinking`` and ``output_config.effort`` map
to the reasoning settings; ``output_config.format`` is the structured-output schema.
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
from patchbay.protocols.common import dump_arguments, joined_instructions
from patchbay.protocols.errors import RequestInvalid

ROLES = ("user", "assistant", "system")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


def _image(block: dict[str, Any]) -> ImagePart | None:
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    if source.get("type") == "base64":
        return ImagePart(data=source.get("data"), media_type=source.get("media_type"))
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return ImagePart(url=source["url"])
    return None  # a file id: nothing another kind can read


def _document(block: dict[str, Any]) -> list[TextPart | FilePart]:
    source = block.get("source")
    if not isinstance(source, dict):
        return []
    kind = source.get("type")
    if kind == "text":
        return [TextPart(str(source.get("data", "")))]
    if kind == "content":
        return [p for p in _blocks(source.get("content"), "document") if isinstance(p, TextPart)]
    if kind == "base64":
        media = source.get("media_type") or "application/pdf"
        return [FilePart(data=source.get("data"), media_type=media, filename=block.get("title"))]
    if kind == "url":
        return [FilePart(url=source.get("url"), media_type="application/pdf")]
    if kind == "file":
        return [FilePart(file_id=source.get("file_id"))]
    return []


def _result(block: dict[str, Any], at: str) -> ToolResult:
    content = block.get("content")
    inner = [
        p
        for p in _blocks(content if content is not None else "", f"{at}.content")
        if isinstance(p, TextPart | ImagePart | FilePart)
    ]
    return ToolResult(
        str(block.get("tool_use_id", "")), tuple(inner), is_error=bool(block.get("is_error"))
    )


def _block(block: dict[str, Any], at: str) -> list[Part]:
    kind = block["type"]
    if kind == "text":
        _require(isinstance(block.get("text"), str), "text must be a string", f"{at}.text")
        return [TextPart(block["text"])]
    if kind == "image":
        image = _image(block)
        return [image] if image is not None else []
    if kind == "document":
        return list(_document(block))
    if kind == "search_result":
        return [p for p in _blocks(block.get("content") or [], at) if isinstance(p, TextPart)]
    if kind == "tool_use":
        _require(isinstance(block.get("name"), str), "tool_use needs a name", f"{at}.name")
        arguments = dump_arguments(block.get("input"))
        return [ToolCall(str(block.get("id", "")), block["name"], arguments)]
    if kind == "tool_result":
        return [_result(block, at)]
    if kind == "thinking":
        return [ReasoningPart(str(block.get("thinking", "")), block.get("signature"))]
    if kind == "redacted_thinking":
        return [ReasoningPart("", extras={"anthropic": {"redacted": block.get("data")}})]
    return []  # server tools' blocks and future block types: dropped (docs/translation.md)


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
        parts += _block(block, at)
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
        kind = tool.get("type")
        if kind in (None, "custom") or "input_schema" in tool:
            tools.append(
                ToolDefinition(
                    tool["name"],
                    tool.get("description"),
                    tool.get("input_schema"),
                    tool.get("strict"),
                )
            )
        elif isinstance(kind, str) and kind.startswith("web_search"):
            config = {k: v for k, v in tool.items() if k not in ("type", "name")}
            tools.append(
                ToolDefinition(HOSTED_WEB_SEARCH, kind="hosted", extras={"web_search": config})
            )
        # other server tools (bash, text editor, code execution, …): dropped
    return tuple(tools)


def _choice(raw: Any) -> tuple[ToolChoice | None, bool | None]:
    if raw is None:
        return None, None
    _require(isinstance(raw, dict), "tool_choice must be an object", "tool_choice")
    parallel = False if raw.get("disable_parallel_tool_use") else None
    kind = raw.get("type")
    modes = {"auto": "auto", "any": "required", "none": "none", "tool": "tool"}
    mode = modes.get(kind) if isinstance(kind, str) else None
    _require(
        mode is not None, "tool_choice.type must be auto, any, tool or none", "tool_choice.type"
    )
    return ToolChoice(mode, raw.get("name")), parallel  # type: ignore[arg-type]


def _reasoning(body: dict[str, Any]) -> tuple[str | None, int | None, bool]:
    """(effort, budget, summaries asked) from ``thinking`` and ``output_config.effort``."""
    thinking, config = _object(body.get("thinking")), _object(body.get("output_config"))
    effort = config.get("effort") if isinstance(config.get("effort"), str) else None
    kind = thinking.get("type")
    if kind == "disabled":
        return effort or "none", None, False
    budget = thinking.get("budget_tokens") if kind == "enabled" else None
    budget = budget if isinstance(budget, int) and not isinstance(budget, bool) else None
    shown = kind in ("enabled", "adaptive") and thinking.get("display") != "omitted"
    if kind == "adaptive" and effort is None:
        effort = "medium"
    return effort, budget, shown


def _format(body: dict[str, Any]) -> ResponseFormat | None:
    fmt = _object(body.get("output_config")).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return ResponseFormat("json_schema", name="output", schema=fmt.get("schema"))
    return None


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    _require(isinstance(body.get("model"), str) and body["model"], "model is required", "model")
    max_tokens = body.get("max_tokens")
    _require(
        isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 0,
        "max_tokens is required and must be a non-negative integer",
        "max_tokens",
    )
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise RequestInvalid("messages must be a non-empty array", "messages")
    system_raw = body.get("system")
    system = (
        [p for p in _blocks(system_raw, "system") if isinstance(p, TextPart)] if system_raw else []
    )
    messages: list[Message] = []
    for i, raw in enumerate(raw_messages):
        _require(
            isinstance(raw, dict) and raw.get("role") in ROLES,
            "role must be 'user', 'assistant' or 'system'",
            f"messages[{i}].role",
        )
        _require("content" in raw, "content is required", f"messages[{i}].content")
        parts = tuple(_blocks(raw["content"], f"messages[{i}].content"))
        role: Role = raw["role"]
        if role == "system" and not messages:
            system = joined_instructions(system, [p for p in parts if isinstance(p, TextPart)])
        else:
            messages.append(Message(role=role, parts=parts))
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
    effort, budget, shown = _reasoning(body)
    metadata = _object(body.get("metadata"))
    return ChatRequest(
        model=model or body["model"],
        messages=tuple(messages),
        system=tuple(system),
        tools=_tools(body.get("tools")),
        tool_choice=choice,
        parallel_tool_calls=parallel,
        response_format=_format(body),
        max_output_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=tuple(stop or ()),
        reasoning_effort=effort,
        thinking_budget=budget,
        reasoning_summary=shown,
        stream=stream is True,
        user=metadata.get("user_id"),
    )
