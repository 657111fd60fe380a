"""Gemini ``generateContent`` request → canonical ``ChatRequest`` (the model is in the URL)."""

from __future__ import annotations

from typing import Any

from patchbay.domain.messages import (
    ImagePart,
    Message,
    Part,
    Role,
    TextPart,
    ToolCall,
    ToolResult,
)
from patchbay.domain.requests import ChatRequest, ResponseFormat, ToolChoice, ToolDefinition
from patchbay.protocols.common import dump_arguments
from patchbay.protocols.common import gemini_call_id as call_id
from patchbay.protocols.errors import RequestInvalid


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


class _Calls:
    """Numbers function calls as the Gemini upstream adapter does; answers are matched by name."""

    def __init__(self) -> None:
        self.count = 0
        self.open: dict[str, list[str]] = {}

    def call(self, name: str) -> str:
        cid = call_id(self.count, name)
        self.count += 1
        self.open.setdefault(name, []).append(cid)
        return cid

    def answer(self, name: str) -> str:
        pending = self.open.get(name)
        return pending.pop(0) if pending else call_id(self.count, name)


def _parts(raw: Any, where: str, calls: _Calls) -> list[Part]:
    _require(isinstance(raw, list), "parts must be an array", where)
    parts: list[Part] = []
    for j, part in enumerate(raw):
        at = f"{where}[{j}]"
        _require(isinstance(part, dict), "each part must be an object", at)
        if "text" in part:
            _require(isinstance(part["text"], str), "text must be a string", f"{at}.text")
            if not part.get("thought"):
                parts.append(TextPart(part["text"]))
        elif "inlineData" in part:
            data = part["inlineData"] or {}
            parts.append(ImagePart(data=data.get("data"), media_type=data.get("mimeType")))
        elif "fileData" in part:
            data = part["fileData"] or {}
            parts.append(ImagePart(url=data.get("fileUri"), media_type=data.get("mimeType")))
        elif "functionCall" in part:
            call = part["functionCall"] or {}
            _require(isinstance(call.get("name"), str), "functionCall needs a name", at)
            cid = call.get("id") or calls.call(call["name"])
            parts.append(ToolCall(cid, call["name"], dump_arguments(call.get("args"))))
        elif "functionResponse" in part:
            answer = part["functionResponse"] or {}
            name = str(answer.get("name", ""))
            response = answer.get("response")
            text = response.get("content", response) if isinstance(response, dict) else response
            text = text if isinstance(text, str) else dump_arguments(text)
            parts.append(
                ToolResult(answer.get("id") or calls.answer(name), (TextPart(text),), name=name)
            )
        else:
            raise RequestInvalid("unsupported part", at)
    return parts


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, list), "tools must be an array", "tools")
    out = []
    for i, tool in enumerate(raw):
        for j, decl in enumerate((tool or {}).get("functionDeclarations") or ()):
            _require(
                isinstance(decl.get("name"), str),
                "functionDeclarations need a name",
                f"tools[{i}].functionDeclarations[{j}].name",
            )
            out.append(
                ToolDefinition(
                    decl["name"],
                    decl.get("description"),
                    decl.get("parameters") or decl.get("parametersJsonSchema"),
                )
            )
    return tuple(out)


def _choice(body: dict[str, Any]) -> ToolChoice | None:
    config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = config.get("mode")
    if not mode:
        return None
    names = config.get("allowedFunctionNames") or []
    if mode == "ANY" and len(names) == 1:
        return ToolChoice("tool", names[0])
    return ToolChoice({"ANY": "required", "NONE": "none"}.get(mode, "auto"))  # type: ignore[arg-type]


def _format(config: dict[str, Any]) -> ResponseFormat | None:
    if config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return (
        ResponseFormat("json_schema", name="response", schema=schema)
        if schema
        else ResponseFormat("json_object")
    )


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RequestInvalid("contents must be a non-empty array", "contents")
    calls = _Calls()
    messages = []
    for i, content in enumerate(contents):
        _require(isinstance(content, dict), "each content must be an object", f"contents[{i}]")
        role: Role = "assistant" if content.get("role") == "model" else "user"
        parts = _parts(content.get("parts"), f"contents[{i}].parts", calls)
        messages.append(Message(role=role, parts=tuple(parts)))
    system = body.get("systemInstruction") or body.get("system_instruction")
    system_parts = (
        [
            p
            for p in _parts(system.get("parts") or [], "systemInstruction.parts", _Calls())
            if isinstance(p, TextPart)
        ]
        if system
        else []
    )
    config = body.get("generationConfig") or {}
    _require(isinstance(config, dict), "generationConfig must be an object", "generationConfig")
    limit = config.get("maxOutputTokens")
    _require(
        limit is None or (isinstance(limit, int) and limit > 0),
        "maxOutputTokens must be a positive integer",
        "generationConfig.maxOutputTokens",
    )
    return ChatRequest(
        model=model or "",
        messages=tuple(messages),
        system=tuple(system_parts),
        tools=_tools(body.get("tools")),
        tool_choice=_choice(body),
        response_format=_format(config),
        max_output_tokens=limit,
        temperature=config.get("temperature"),
        top_p=config.get("topP"),
        stop=tuple(config.get("stopSequences") or ()),
    )
