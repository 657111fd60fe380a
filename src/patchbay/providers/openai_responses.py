"""Upstream kind ``openai-responses``: canonical ⇄ OpenAI Responses (``/responses``).

The gateway keeps conversations itself, so upstream calls are sent with ``store: false`` and the
whole history as input items.
"""

from __future__ import annotations

from typing import Any, Literal

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
from patchbay.protocols.common import data_url, result_text
from patchbay.protocols.sse import SSEParser, json_of
from patchbay.providers import shaping
from patchbay.providers.base import HTTPAdapter


def path(upstream_model: str, stream: bool) -> str:
    return "/responses"


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def _file(part: FilePart) -> dict[str, Any] | None:
    media = part.media_type or "application/pdf"
    if media.startswith("audio/"):
        if not part.data:
            return None
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": media[6:]}}
    item: dict[str, Any] = {"type": "input_file"}
    if part.data:
        item["file_data"] = f"data:{media};base64,{part.data}"
    elif part.file_id:
        item["file_id"] = part.file_id
    elif part.url:
        item["file_url"] = part.url
    if part.filename:
        item["filename"] = part.filename
    return item


def _content(message: Message) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    text_type = "output_text" if message.role == "assistant" else "input_text"
    for p in message.parts:
        if isinstance(p, TextPart):
            content.append({"type": text_type, "text": p.text})
        elif isinstance(p, ImagePart):
            content.append(
                {"type": "input_image", "image_url": data_url(p), "detail": p.detail or "auto"}
            )
        elif isinstance(p, FilePart):
            item = _file(p)
            if item is not None:
                content.append(item)
    return content


def _reasoning_item(part: ReasoningPart) -> dict[str, Any] | None:
    """Reasoning goes back only as it came from a Responses upstream (with its id and
    encrypted content); other families' thinking is theirs alone."""
    kept = part.extras.get("openai")
    if not isinstance(kept, dict) or not kept.get("encrypted_content"):
        return None
    summary = [{"type": "summary_text", "text": part.text}] if part.text else []
    return {"type": "reasoning", **kept, "summary": summary}


def encode_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    custom_calls: set[str] = set()
    for message in messages:
        content = _content(message)
        if content:
            role = "user" if message.role == "tool" else message.role
            items.append({"type": "message", "role": role, "content": content})
        for p in message.parts:
            if isinstance(p, ReasoningPart):
                item = _reasoning_item(p)
                if item is not None:
                    items.append(item)
            elif isinstance(p, ToolCall) and p.kind == "custom":
                custom_calls.add(p.id)
                items.append(
                    {
                        "type": "custom_tool_call",
                        "call_id": p.id,
                        "name": p.name,
                        "input": p.arguments,
                    }
                )
            elif isinstance(p, ToolCall):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": p.id,
                        "name": p.name,
                        "arguments": p.arguments,
                    }
                )
            elif isinstance(p, ToolResult):
                kind = (
                    "custom_tool_call_output"
                    if p.call_id in custom_calls
                    else "function_call_output"
                )
                items.append({"type": kind, "call_id": p.call_id, "output": result_text(p)})
    return items


def _tools(req: ChatRequest) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for t in req.tools:
        if t.kind == "custom":
            tool: dict[str, Any] = {"type": "custom", "name": t.name}
            if t.description:
                tool["description"] = t.description
            if "format" in t.extras:
                tool["format"] = t.extras["format"]
            tools.append(tool)
        elif t.kind == "hosted" and t.name == HOSTED_WEB_SEARCH:
            config = t.extras.get("web_search")
            tools.append({"type": "web_search", **(config if isinstance(config, dict) else {})})
        elif t.kind == "function":
            tools.append(
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters or {"type": "object", "properties": {}},
                    "strict": bool(t.strict),
                }
            )
    return tools


def _tool_choice(req: ChatRequest) -> Any:
    choice = req.tool_choice
    if choice is None:
        return None
    if choice.mode != "tool":
        return choice.mode
    if choice.name == HOSTED_WEB_SEARCH:
        return {"type": "web_search"}
    custom = any(t.kind == "custom" and t.name == choice.name for t in req.tools)
    return {"type": "custom" if custom else "function", "name": choice.name}


def text_format(req: ChatRequest) -> dict[str, Any] | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"format": {"type": "json_object"}}
    schema: dict[str, Any] = {
        "type": "json_schema",
        "name": fmt.name or "response",
        "schema": fmt.schema or {},
    }
    if fmt.strict is not None:
        schema["strict"] = fmt.strict
    return {"format": schema}


def _reasoning(req: ChatRequest) -> dict[str, Any] | None:
    effort = shaping.effort(req)
    if effort is None and not req.reasoning_summary:
        return None
    reasoning: dict[str, Any] = {"effort": effort} if effort else {}
    if req.reasoning_summary:
        reasoning["summary"] = "auto"
    return reasoning


def build_request(req: ChatRequest, *, upstream_model: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": upstream_model,
        "input": encode_input(req.messages),
        "store": False,
    }
    if req.system:
        body["instructions"] = shaping.system_text(req)
    tools = _tools(req)
    if tools:
        body["tools"] = tools
    optional = {
        "tool_choice": _tool_choice(req) if tools else None,
        "parallel_tool_calls": req.parallel_tool_calls if tools else None,
        "max_output_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "text": text_format(req),
        "user": req.user,
        "reasoning": _reasoning(req),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if stream:
        body["stream"] = True
    return body


def usage_of(data: dict[str, Any] | None) -> Usage:
    data = data or {}
    return Usage(
        input_tokens=int(data.get("input_tokens") or 0),
        output_tokens=int(data.get("output_tokens") or 0),
        cached_input_tokens=int((data.get("input_tokens_details") or {}).get("cached_tokens") or 0),
        reasoning_tokens=int(
            (data.get("output_tokens_details") or {}).get("reasoning_tokens") or 0
        ),
    )


def output_parts(items: list[dict[str, Any]]) -> list[Part]:
    parts: list[Part] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            for content in item.get("content") or ():
                if content.get("type") == "output_text":
                    parts.append(TextPart(content.get("text", "")))
        elif kind == "reasoning":
            text = "".join(s.get("text", "") for s in item.get("summary") or ())
            parts.append(ReasoningPart(text))
        elif kind == "function_call":
            parts.append(
                ToolCall(item.get("call_id", ""), item.get("name", ""), item.get("arguments", ""))
            )
        elif kind == "custom_tool_call":
            call_id, name = item.get("call_id", ""), item.get("name", "")
            parts.append(ToolCall(call_id, name, item.get("input", ""), kind="custom"))
    return parts


def finish_of(response: dict[str, Any], parts: list[Part]) -> FinishReason:
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "content_filter" if reason == "content_filter" else "length"
    return "tool_calls" if any(isinstance(p, ToolCall) for p in parts) else "stop"


def parse_response(body: dict[str, Any]) -> ChatResponse:
    parts = output_parts(body.get("output") or [])
    return ChatResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        message=Message(role="assistant", parts=tuple(parts)),
        finish_reason=finish_of(body, parts),
        usage=usage_of(body["usage"]) if isinstance(body.get("usage"), dict) else UNREPORTED,
        created=int(body.get("created_at") or 0),
    )


def parse_error(status: int, body: bytes) -> str:
    try:
        error = orjson.loads(body).get("error") or {}
        return str(error.get("message", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return body[:200].decode("utf-8", "replace")


class StreamParser:
    def __init__(self) -> None:
        self.sse = SSEParser()
        self.calls: dict[int, int] = {}  # output_index -> tool call index
        self.done = False

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return [e for data in self.sse.payloads(chunk) for e in self._event(data)]

    def close(self) -> list[StreamEvent]:
        out = [e for data in self.sse.close_payloads() for e in self._event(data)]
        if not self.done:
            self.done = True
            out.append(StreamError(502, "upstream stream ended early"))
        return out

    def _event(self, data: bytes) -> list[StreamEvent]:
        if self.done or not data or data == b"[DONE]":
            return []
        event = json_of(data)
        kind = event.get("type", "")
        if kind == "response.created":
            response = event.get("response") or {}
            return [
                Start(
                    response.get("id", ""),
                    response.get("model", ""),
                    int(response.get("created_at") or 0),
                )
            ]
        if kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") in ("function_call", "custom_tool_call"):
                index = self.calls[event.get("output_index", 0)] = len(self.calls)
                call: Literal["function", "custom"] = (
                    "custom" if item["type"] == "custom_tool_call" else "function"
                )
                call_id, name = item.get("call_id", ""), item.get("name", "")
                return [ToolCallStart(index, call_id, name, kind=call)]
            return []
        if kind == "response.output_text.delta":
            return [TextDelta(event.get("delta", ""))]
        if kind in (
            "response.function_call_arguments.delta",
            "response.custom_tool_call_input.delta",
        ):
            found = self.calls.get(event.get("output_index", 0))
            return [ToolCallDelta(found, event.get("delta", ""))] if found is not None else []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return [ReasoningDelta(event.get("delta", ""))]
        if kind in ("response.completed", "response.incomplete"):
            self.done = True
            response = event.get("response") or {}
            parts = output_parts(response.get("output") or [])
            finish = (
                finish_of(response, parts)
                if parts or kind != "response.completed"
                else ("tool_calls" if self.calls else "stop")
            )
            return [UsageReport(usage_of(response.get("usage"))), Finish(finish)]
        if kind in ("response.failed", "error"):
            self.done = True
            error = event.get("error") or (event.get("response") or {}).get("error") or {}
            return [StreamError(502, str(error.get("message", "upstream error")))]
        return []


class OpenAIResponsesAdapter(HTTPAdapter):
    """Upstream kind ``openai-responses``."""

    kind = "openai-responses"

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


ADAPTER = OpenAIResponsesAdapter()
