"""Gemini ``generateContent`` request → canonical ``ChatRequest`` (the model is in the URL).

Never stricter than the official API. Parts the canonical form carries: text (thoughts as
reasoning), inline and file data (images, documents, audio), function calls and responses.
Executable code and its results become text; other parts are dropped. Tools: function
declarations; ``googleSearch`` (and its retrieval form) becomes the hosted web search; the
other built-in tools are dropped (docs/translation.md). ``thinkingConfig`` maps to the
reasoning settings.

Gemini function calls may come without ids: the gateway numbers them
(``protocols.common.gemini_call_id``), and a ``functionResponse`` without an id answers the
oldest open call of that name — whether that call had an id of its own or was numbered — so
a result always finds its call on whatever upstream served it.
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
from patchbay.protocols.common import dump_arguments
from patchbay.protocols.common import gemini_call_id as call_id
from patchbay.protocols.errors import RequestInvalid

SEARCH_TOOLS = ("googleSearch", "google_search", "googleSearchRetrieval", "google_search_retrieval")
LEVEL_EFFORT = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high"}


def _require(cond: bool, message: str, param: str) -> None:
    if not cond:
        raise RequestInvalid(message, param)


def _field(part: dict[str, Any], camel: str, snake: str) -> Any:
    return part.get(camel) if camel in part else part.get(snake)


class _Calls:
    """Ids of the conversation's function calls; answers are matched by name, in order."""

    def __init__(self) -> None:
        self.count = 0
        self.open: dict[str, list[str]] = {}

    def call(self, name: str, raw: Any) -> str:
        given = raw if isinstance(raw, str) else None
        cid = given or call_id(self.count, name)
        self.count += 1
        self.open.setdefault(name, []).append(cid)
        return cid

    def answer(self, name: str, raw: Any) -> str:
        given = raw if isinstance(raw, str) else None
        pending = self.open.get(name) or []
        if given:
            if given in pending:
                pending.remove(given)
            return given
        return pending.pop(0) if pending else call_id(self.count, name)


def _media(data: dict[str, Any], inline: bool) -> ImagePart | FilePart:
    mime = _field(data, "mimeType", "mime_type")
    if isinstance(mime, str) and mime.startswith("image/"):
        if inline:
            return ImagePart(data=data.get("data"), media_type=mime)
        return ImagePart(url=_field(data, "fileUri", "file_uri"), media_type=mime)
    if inline:
        return FilePart(data=data.get("data"), media_type=mime)
    return FilePart(url=_field(data, "fileUri", "file_uri"), media_type=mime)


def _part(part: dict[str, Any], at: str, calls: _Calls) -> list[Part]:
    if "text" in part:
        _require(isinstance(part["text"], str), "text must be a string", f"{at}.text")
        if part.get("thought"):
            signature = _field(part, "thoughtSignature", "thought_signature")
            return [ReasoningPart(part["text"], extras={"gemini": {"signature": signature}})]
        return [TextPart(part["text"])]
    for camel, snake, inline in (
        ("inlineData", "inline_data", True),
        ("fileData", "file_data", False),
    ):
        data = _field(part, camel, snake)
        if isinstance(data, dict):
            return [_media(data, inline)]
    call = _field(part, "functionCall", "function_call")
    if isinstance(call, dict):
        _require(isinstance(call.get("name"), str), "functionCall needs a name", at)
        cid = calls.call(call["name"], call.get("id"))
        return [ToolCall(cid, call["name"], dump_arguments(call.get("args")))]
    answer = _field(part, "functionResponse", "function_response")
    if isinstance(answer, dict):
        name = str(answer.get("name", ""))
        response = answer.get("response")
        text = response.get("content", response) if isinstance(response, dict) else response
        text = text if isinstance(text, str) else dump_arguments(text)
        cid = calls.answer(name, answer.get("id"))
        return [ToolResult(cid, (TextPart(text),), name=name)]
    code = _field(part, "executableCode", "executable_code")
    if isinstance(code, dict):
        return [
            TextPart(f"```{str(code.get('language', '')).lower()}\n{code.get('code', '')}\n```")
        ]
    result = _field(part, "codeExecutionResult", "code_execution_result")
    if isinstance(result, dict):
        return [TextPart(str(result.get("output", "")))]
    return []  # other part types: dropped (docs/translation.md)


def _parts(raw: Any, where: str, calls: _Calls) -> list[Part]:
    _require(isinstance(raw, list), "parts must be an array", where)
    parts: list[Part] = []
    for j, part in enumerate(raw):
        _require(isinstance(part, dict), "each part must be an object", f"{where}[{j}]")
        parts += _part(part, f"{where}[{j}]", calls)
    return parts


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, list), "tools must be an array", "tools")
    out: list[ToolDefinition] = []
    for i, tool in enumerate(raw):
        tool = tool or {}
        _require(isinstance(tool, dict), "each tool must be an object", f"tools[{i}]")
        declarations = _field(tool, "functionDeclarations", "function_declarations") or ()
        where = f"tools[{i}].functionDeclarations"
        _require(isinstance(declarations, list | tuple), "must be an array", where)
        for j, decl in enumerate(declarations):
            _require(
                isinstance(decl, dict) and isinstance(decl.get("name"), str),
                "functionDeclarations need a name",
                f"{where}[{j}].name",
            )
            schema = (
                decl.get("parameters")
                or decl.get("parametersJsonSchema")
                or decl.get("parameters_json_schema")
            )
            description = decl.get("description")
            out.append(
                ToolDefinition(
                    decl["name"],
                    description if isinstance(description, str) else None,
                    schema if isinstance(schema, dict) else None,
                )
            )
        if any(name in tool for name in SEARCH_TOOLS):
            out.append(ToolDefinition(HOSTED_WEB_SEARCH, kind="hosted"))
    return tuple(out)


def _choice(body: dict[str, Any]) -> ToolChoice | None:
    tool_config = _field(body, "toolConfig", "tool_config") or {}
    _require(isinstance(tool_config, dict), "toolConfig must be an object", "toolConfig")
    config = _field(tool_config, "functionCallingConfig", "function_calling_config") or {}
    where = "toolConfig.functionCallingConfig"
    _require(isinstance(config, dict), "functionCallingConfig must be an object", where)
    mode = config.get("mode")
    if not mode:
        return None
    _require(isinstance(mode, str), "mode must be a string", f"{where}.mode")
    names = _field(config, "allowedFunctionNames", "allowed_function_names") or []
    _require(
        isinstance(names, list) and all(isinstance(n, str) for n in names),
        "allowedFunctionNames must be an array of strings",
        f"{where}.allowedFunctionNames",
    )
    if mode in ("ANY", "VALIDATED") and len(names) == 1:
        return ToolChoice("tool", names[0])
    return ToolChoice({"ANY": "required", "NONE": "none"}.get(mode, "auto"))  # type: ignore[arg-type]


def _format(config: dict[str, Any]) -> ResponseFormat | None:
    if _field(config, "responseMimeType", "response_mime_type") != "application/json":
        return None
    schema = _field(config, "responseJsonSchema", "response_json_schema") or _field(
        config, "responseSchema", "response_schema"
    )
    if schema:
        return ResponseFormat("json_schema", name="response", schema=schema)
    return ResponseFormat("json_object")


def _reasoning(config: dict[str, Any]) -> tuple[str | None, int | None, bool]:
    thinking = _field(config, "thinkingConfig", "thinking_config")
    if not isinstance(thinking, dict):
        return None, None, False
    budget = _field(thinking, "thinkingBudget", "thinking_budget")
    level = _field(thinking, "thinkingLevel", "thinking_level")
    shown = bool(_field(thinking, "includeThoughts", "include_thoughts"))
    effort = LEVEL_EFFORT.get(str(level).lower()) if level else None
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget == 0:
            return "none", None, shown
        if budget > 0:
            return effort, budget, shown
    return effort, None, shown


def decode_request(body: dict[str, Any], *, model: str | None = None) -> ChatRequest:
    contents = body.get("contents")
    if not isinstance(contents, list):
        raise RequestInvalid("contents must be an array", "contents")
    calls = _Calls()
    messages = []
    for i, content in enumerate(contents):
        _require(isinstance(content, dict), "each content must be an object", f"contents[{i}]")
        role: Role = "assistant" if content.get("role") == "model" else "user"
        parts = _parts(content.get("parts") or [], f"contents[{i}].parts", calls)
        messages.append(Message(role=role, parts=tuple(parts)))
    system = _field(body, "systemInstruction", "system_instruction")
    system_parts = (
        [
            p
            for p in _parts(system.get("parts") or [], "systemInstruction.parts", _Calls())
            if isinstance(p, TextPart)
        ]
        if isinstance(system, dict)
        else []
    )
    config = _field(body, "generationConfig", "generation_config") or {}
    _require(isinstance(config, dict), "generationConfig must be an object", "generationConfig")
    limit = _field(config, "maxOutputTokens", "max_output_tokens")
    _require(
        limit is None or (isinstance(limit, int) and limit > 0),
        "maxOutputTokens must be a positive integer",
        "generationConfig.maxOutputTokens",
    )
    effort, budget, shown = _reasoning(config)
    stop = _field(config, "stopSequences", "stop_sequences") or ()
    _require(
        isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop),
        "stopSequences must be an array of strings",
        "generationConfig.stopSequences",
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
        top_p=_field(config, "topP", "top_p"),
        stop=tuple(stop),
        reasoning_effort=effort,
        thinking_budget=budget,
        reasoning_summary=shown,
    )
