"""Upstream kind ``anthropic``: canonical ⇄ Anthropic Messages (``/v1/messages``)."""

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
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse, FinishReason
from patchbay.domain.usage import UNREPORTED, Usage
from patchbay.protocols.common import dump_arguments, parse_arguments, split_data_url
from patchbay.protocols.sse import SSEParser, json_of
from patchbay.providers import shaping
from patchbay.providers.base import HTTPAdapter

VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


def path(upstream_model: str, stream: bool) -> str:
    return "/v1/messages"


def auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {"anthropic-version": VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


def image_block(image: ImagePart) -> dict[str, Any]:
    media, data = (image.media_type, image.data) if image.data else split_data_url(image.url or "")
    if data:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media or "image/png", "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": image.url}}


WEB_SEARCH_TOOL = "web_search_20250305"
WEB_SEARCH_KEYS = ("max_uses", "allowed_domains", "blocked_domains", "user_location")
MIN_THINKING = 1024
JSON_OBJECT_HINT = "Answer with one JSON object and nothing else."


def document_block(part: FilePart) -> dict[str, Any] | None:
    media = part.media_type or "application/pdf"
    if media.startswith("audio/"):
        return None  # Anthropic takes no audio (docs/translation.md)
    if part.data:
        source: dict[str, Any] = {"type": "base64", "media_type": media, "data": part.data}
    elif part.url:
        source = {"type": "url", "url": part.url}
    elif part.file_id:
        source = {"type": "file", "file_id": part.file_id}
    else:
        return None
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.filename:
        block["title"] = part.filename
    return block


def content_blocks(parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            if p.text:
                blocks.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            blocks.append(image_block(p))
        elif isinstance(p, FilePart):
            document = document_block(p)
            if document is not None:
                blocks.append(document)
        elif isinstance(p, ToolCall):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": p.id,
                    "name": p.name,
                    "input": parse_arguments(shaping.call_arguments(p)),
                }
            )
        elif isinstance(p, ToolResult):
            inner = content_blocks(p.content)
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": p.call_id,
                "content": inner,
            }
            if p.is_error:
                block["is_error"] = True
            blocks.append(block)
        elif isinstance(p, ReasoningPart):
            redacted = (p.extras.get("anthropic") or {}).get("redacted")
            if redacted:
                blocks.append({"type": "redacted_thinking", "data": redacted})
            elif p.signature:  # Anthropic's own thinking, signed: it goes back as it came
                blocks.append({"type": "thinking", "thinking": p.text, "signature": p.signature})
    return blocks


def _calls_tools(turn: dict[str, Any]) -> bool:
    return turn["role"] == "assistant" and any(b["type"] == "tool_use" for b in turn["content"])


def encode_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Canonical messages → Anthropic turns: tool results ride in user turns, merged;
    system/developer messages stay in place as ``system`` turns, except between a tool call
    and its results (which must follow it), where they wait until after the results."""
    out: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    for message in messages:
        if message.role in ("system", "developer"):
            turn = {"role": "system", "content": [{"type": "text", "text": message.text()}]}
            if out and _calls_tools(out[-1]):
                waiting.append(turn)
            else:
                out.append(turn)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = content_blocks(message.parts)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
        if waiting and role == "user":
            out += waiting
            waiting = []
    return out + waiting


def _tool_choice(req: ChatRequest) -> dict[str, Any] | None:
    choice = req.tool_choice
    if choice is None:
        return None
    mapping: dict[str, dict[str, Any]] = {
        "auto": {"type": "auto"},
        "none": {"type": "none"},
        "required": {"type": "any"},
    }
    result = dict(mapping.get(choice.mode) or {"type": "tool", "name": choice.name})
    if req.parallel_tool_calls is False and choice.mode != "none":
        result["disable_parallel_tool_use"] = True
    return result


def _tools(req: ChatRequest) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = [
        {
            k: v
            for k, v in (
                ("name", t.name),
                ("description", t.description),
                ("input_schema", t.parameters or {"type": "object", "properties": {}}),
            )
            if v is not None
        }
        for t in shaping.function_tools(req)
    ]
    search = shaping.web_search(req)
    if search is not None:
        config = search.extras.get("web_search")
        config = config if isinstance(config, dict) else {}
        filters: dict[str, Any] = (
            config["filters"] if isinstance(config.get("filters"), dict) else {}
        )
        tool = {"type": WEB_SEARCH_TOOL, "name": "web_search"}
        tool.update({k: config[k] for k in WEB_SEARCH_KEYS if k in config})
        if "allowed_domains" in filters:
            tool["allowed_domains"] = filters["allowed_domains"]
        tools.append(tool)
    return tools


def _thinking(req: ChatRequest, max_tokens: int) -> tuple[dict[str, Any] | None, int]:
    """Anthropic's thinking for the request's reasoning settings, and the max_tokens to send
    (thinking counts inside it, so it grows by the budget)."""
    budget = shaping.budget(req)
    choice = req.tool_choice
    if budget is None or (choice is not None and choice.mode in ("required", "tool")):
        return None, max_tokens  # a forced tool call and thinking do not go together
    budget = max(MIN_THINKING, budget)
    return {"type": "enabled", "budget_tokens": budget}, max_tokens + budget


def build_request(req: ChatRequest, *, upstream_model: str, stream: bool) -> dict[str, Any]:
    conversation, moved = shaping.with_user_turn(req, req.messages)
    max_tokens = req.max_output_tokens if req.max_output_tokens is not None else DEFAULT_MAX_TOKENS
    thinking, max_tokens = _thinking(req, max_tokens)
    body: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": max_tokens,
        "messages": encode_messages(shaping.conversation(conversation) if moved else conversation),
    }
    system = "" if moved else shaping.system_text(req)
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_object":
        system = f"{system}\n\n{JSON_OBJECT_HINT}".strip()
    if system:
        body["system"] = system
    tools = _tools(req)
    if tools:
        body["tools"] = tools
    optional = {
        "tool_choice": _tool_choice(req) if tools else None,
        "temperature": None if thinking else req.temperature,
        "top_p": None if thinking else req.top_p,
        "stop_sequences": list(req.stop) or None,
        "thinking": thinking,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if fmt is not None and fmt.type == "json_schema" and fmt.schema:
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if stream:
        body["stream"] = True
    return body


def usage_of(data: dict[str, Any]) -> Usage:
    cached = int(data.get("cache_read_input_tokens") or 0)
    created = int(data.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(data.get("input_tokens") or 0) + cached + created,
        output_tokens=int(data.get("output_tokens") or 0),
        cached_input_tokens=cached,
    )


def parse_response(body: dict[str, Any]) -> ChatResponse:
    parts: list[Part] = []
    for block in body.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            parts.append(TextPart(block.get("text", "")))
        elif kind == "thinking":
            parts.append(ReasoningPart(block.get("thinking", ""), block.get("signature")))
        elif kind == "tool_use":
            parts.append(
                ToolCall(
                    block.get("id", ""), block.get("name", ""), dump_arguments(block.get("input"))
                )
            )
    return ChatResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        message=Message(role="assistant", parts=tuple(parts)),
        finish_reason=STOP.get(body.get("stop_reason") or "end_turn", "stop"),
        usage=usage_of(body["usage"]) if isinstance(body.get("usage"), dict) else UNREPORTED,
    )


def parse_error(status: int, body: bytes) -> str:
    try:
        error = orjson.loads(body).get("error") or {}
        return str(error.get("message", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return body[:200].decode("utf-8", "replace")


IGNORED = (b'{"type":"ping"', b'{"type":"content_block_stop"')  # unread, as Anthropic sends them


class StreamParser:
    def __init__(self) -> None:
        self.sse = SSEParser()
        self.usage: dict[str, Any] = {}
        self.stop: FinishReason = "stop"
        self.blocks: dict[int, int] = {}  # content block index -> tool call index
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
        if self.done or not data or data.startswith(IGNORED):
            return []
        event = json_of(data)
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.usage.update(message.get("usage") or {})
            return [Start(message.get("id", ""), message.get("model", ""))]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.blocks[event["index"]] = len(self.blocks)
                return [ToolCallStart(index, block.get("id", ""), block.get("name", ""))]
            if block.get("type") == "text" and block.get("text"):
                return [TextDelta(block["text"])]
            return []
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            delta = event.get("delta") or {}
            if delta.get("stop_reason"):
                self.stop = STOP.get(delta["stop_reason"], "stop")
            self.usage.update(
                {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            )
            return []
        if kind == "message_stop":
            self.done = True
            return [UsageReport(usage_of(self.usage)), Finish(self.stop)]
        if kind == "error":
            self.done = True
            error = event.get("error") or {}
            return [
                StreamError(
                    502,
                    str(error.get("message", "upstream error")),
                    str(error.get("type", "upstream_error")),
                )
            ]
        return []

    def _delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return [TextDelta(delta.get("text", ""))]
        if kind == "input_json_delta":
            index = self.blocks.get(event.get("index", -1))
            partial = delta.get("partial_json", "")
            return [ToolCallDelta(index, partial)] if index is not None and partial else []
        if kind == "thinking_delta":
            return [ReasoningDelta(delta.get("thinking", ""))]
        if kind == "signature_delta":
            return [ReasoningDelta("", signature=delta.get("signature"))]
        return []


class AnthropicAdapter(HTTPAdapter):
    """Upstream kind ``anthropic``."""

    kind = "anthropic"

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


ADAPTER = AnthropicAdapter()
