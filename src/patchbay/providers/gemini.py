"""Upstream kind ``gemini``: canonical ⇄ Gemini ``generateContent`` / ``streamGenerateContent``.

Gemini function calls carry no ids: the gateway numbers them (``call_<n>_<name>``) and maps a
``functionResponse`` back to the call by name.
"""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.domain.events import (
    Finish,
    ReasoningDelta,
    Start,
    StreamError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from patchbay.domain.messages import (
    FilePart,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
)
from patchbay.domain.requests import HOSTED_WEB_SEARCH, ChatRequest
from patchbay.domain.responses import ChatResponse, FinishReason
from patchbay.domain.usage import UNREPORTED, Usage
from patchbay.protocols.common import (
    dump_arguments,
    gemini_call_id,
    parse_arguments,
    result_text,
    split_data_url,
)
from patchbay.protocols.sse import SSEParser, json_of
from patchbay.providers import shaping
from patchbay.providers.base import HTTPAdapter

FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


def path(upstream_model: str, stream: bool) -> str:
    if stream:
        return f"/v1beta/models/{upstream_model}:streamGenerateContent?alt=sse"
    return f"/v1beta/models/{upstream_model}:generateContent"


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"x-goog-api-key": api_key} if api_key else {}


call_id = gemini_call_id


def image_part(image: ImagePart) -> dict[str, Any]:
    media, data = (image.media_type, image.data) if image.data else split_data_url(image.url or "")
    if data:
        return {"inlineData": {"mimeType": media or "image/png", "data": data}}
    return {"fileData": {"fileUri": image.url, "mimeType": image.media_type or "image/*"}}


def file_part(part: FilePart) -> dict[str, Any] | None:
    media = part.media_type or "application/pdf"
    if part.data:
        return {"inlineData": {"mimeType": media, "data": part.data}}
    if part.url:
        return {"fileData": {"fileUri": part.url, "mimeType": media}}
    return None


def encode_parts(message: Message, names: dict[str, str]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for p in message.parts:
        if isinstance(p, TextPart) and p.text:
            parts.append({"text": p.text})
        elif isinstance(p, ImagePart):
            parts.append(image_part(p))
        elif isinstance(p, FilePart):
            file = file_part(p)
            if file is not None:
                parts.append(file)
        elif isinstance(p, ToolCall):
            names[p.id] = p.name
            arguments = parse_arguments(shaping.call_arguments(p))
            parts.append({"functionCall": {"name": p.name, "args": arguments}})
        elif isinstance(p, ToolResult):
            name = p.name or names.get(p.call_id, "tool")
            parts.append(
                {"functionResponse": {"name": name, "response": {"content": result_text(p)}}}
            )
    return parts


def encode_contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = "model" if message.role == "assistant" else "user"
        parts = encode_parts(message, names)
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})
    return out


def _thinking(req: ChatRequest) -> dict[str, Any] | None:
    if req.reasoning_effort == "none":
        return {"thinkingBudget": 0}
    budget = shaping.budget(req)
    if budget is None and not req.reasoning_summary:
        return None
    config: dict[str, Any] = {"thinkingBudget": budget} if budget is not None else {}
    if req.reasoning_summary:
        config["includeThoughts"] = True
    return config


def _generation_config(req: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {
        k: v
        for k, v in (
            ("maxOutputTokens", req.max_output_tokens),
            ("temperature", req.temperature),
            ("topP", req.top_p),
            ("stopSequences", list(req.stop) or None),
            ("thinkingConfig", _thinking(req)),
        )
        if v is not None
    }
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema:
            config["responseJsonSchema"] = fmt.schema
    return config


def _tools(req: ChatRequest) -> list[dict[str, Any]]:
    functions = shaping.function_tools(req)
    if functions:
        # JSON Schema as given (``parameters`` takes only an OpenAPI subset)
        declarations = [
            {
                k: v
                for k, v in (
                    ("name", t.name),
                    ("description", t.description),
                    ("parametersJsonSchema", t.parameters),
                )
                if v is not None
            }
            for t in functions
        ]
        return [{"functionDeclarations": declarations}]
    if shaping.web_search(req) is not None:  # Gemini takes search or functions, not both
        return [{"googleSearch": {}}]
    return []


def build_request(req: ChatRequest, *, upstream_model: str, stream: bool) -> dict[str, Any]:
    conversation, moved = shaping.with_user_turn(req, shaping.conversation(req.messages))
    body: dict[str, Any] = {"contents": encode_contents(conversation)}
    instructions = [] if moved else [shaping.system_text(req), *shaping.instructions(req.messages)]
    text = "\n\n".join(t for t in instructions if t)
    if text:
        body["systemInstruction"] = {"parts": [{"text": text}]}
    tools = _tools(req)
    if tools:
        body["tools"] = tools
    choice = req.tool_choice
    if choice is not None and "functionDeclarations" in (tools[0] if tools else {}):
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[choice.mode]
        config: dict[str, Any] = {"mode": mode}
        if choice.mode == "tool" and choice.name and choice.name != HOSTED_WEB_SEARCH:
            config["allowedFunctionNames"] = [choice.name]
        elif choice.mode == "tool":
            config["mode"] = "AUTO"
        body["toolConfig"] = {"functionCallingConfig": config}
    generation = _generation_config(req)
    if generation:
        body["generationConfig"] = generation
    return body


def usage_of(meta: dict[str, Any]) -> Usage:
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    return Usage(
        input_tokens=int(meta.get("promptTokenCount") or 0),
        output_tokens=int(meta.get("candidatesTokenCount") or 0) + thoughts,
        cached_input_tokens=int(meta.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def _parts(raw: list[dict[str, Any]], first_call: int) -> list[Part]:
    parts: list[Part] = []
    for part in raw:
        if "functionCall" in part:
            call = part["functionCall"]
            index = first_call + sum(isinstance(p, ToolCall) for p in parts)
            parts.append(
                ToolCall(
                    call.get("id") or call_id(index, call.get("name", "")),
                    call.get("name", ""),
                    dump_arguments(call.get("args")),
                )
            )
        elif "text" in part:
            text = part["text"]
            parts.append(ReasoningPart(text) if part.get("thought") else TextPart(text))
    return parts


def finish_of(raw: str | None, has_calls: bool) -> FinishReason:
    if has_calls and raw in (None, "STOP"):
        return "tool_calls"
    return FINISH.get(raw or "STOP", "stop")


def parse_response(body: dict[str, Any]) -> ChatResponse:
    candidate = (body.get("candidates") or [{}])[0]
    parts = _parts((candidate.get("content") or {}).get("parts") or [], 0)
    calls = any(isinstance(p, ToolCall) for p in parts)
    return ChatResponse(
        id=body.get("responseId", ""),
        model=body.get("modelVersion", ""),
        message=Message(role="assistant", parts=tuple(parts)),
        finish_reason=finish_of(candidate.get("finishReason"), calls),
        usage=usage_of(meta) if isinstance(meta := body.get("usageMetadata"), dict) else UNREPORTED,
    )


def parse_error(status: int, body: bytes) -> str:
    try:
        data = orjson.loads(body)
        error = (data[0] if isinstance(data, list) else data).get("error") or {}
        return str(error.get("message", ""))
    except (orjson.JSONDecodeError, AttributeError, IndexError):
        return body[:200].decode("utf-8", "replace")


class StreamParser:
    def __init__(self) -> None:
        self.sse = SSEParser()
        self.started = False
        self.calls = 0
        self.finish: str | None = None
        self.usage = Usage()

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return [e for data in self.sse.payloads(chunk) for e in self._chunk(data)]

    def close(self) -> list[StreamEvent]:
        out = [e for data in self.sse.close_payloads() for e in self._chunk(data)]
        if self.finish is None:
            return [*out, StreamError(502, "upstream stream ended early")]
        return [*out, UsageReport(self.usage), Finish(finish_of(self.finish, self.calls > 0))]

    def _chunk(self, data: bytes) -> list[StreamEvent]:
        if not data:
            return []
        body = json_of(data)
        if "error" in body:
            self.finish = self.finish or "ERROR"
            error = body["error"] or {}
            return [StreamError(502, str(error.get("message", "upstream error")))]
        out: list[StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(Start(body.get("responseId", ""), body.get("modelVersion", "")))
        candidate = (body.get("candidates") or [{}])[0]
        for part in _parts((candidate.get("content") or {}).get("parts") or [], self.calls):
            if isinstance(part, TextPart):
                out.append(TextDelta(part.text))
            elif isinstance(part, ReasoningPart):
                out.append(ReasoningDelta(part.text))
            elif isinstance(part, ToolCall):
                out += [
                    ToolCallStart(self.calls, part.id, part.name),
                    ToolCallDelta(self.calls, part.arguments),
                ]
                self.calls += 1
        if candidate.get("finishReason"):
            self.finish = candidate["finishReason"]
        if body.get("usageMetadata"):
            self.usage = usage_of(body["usageMetadata"])
        return out


class GeminiAdapter(HTTPAdapter):
    """Upstream kind ``gemini``."""

    kind = "gemini"

    def path(self, upstream_model: str, stream: bool) -> str:
        return path(upstream_model, stream)

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return auth_headers(api_key)

    def build_request(
        self, req: ChatRequest, *, upstream_model: str, stream: bool
    ) -> dict[str, Any]:
        return build_request(req, upstream_model=upstream_model, stream=stream)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return parse_response(body)

    def stream_parser(self) -> StreamParser:
        return StreamParser()

    def parse_error(self, status: int, body: bytes) -> str:
        return parse_error(status, body)


ADAPTER = GeminiAdapter()
