"""Upstream kind ``openai`` for translated calls: canonical ⇄ Chat Completions.

(Chat clients on ``openai`` upstreams take the untouched fast path instead.)
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
from patchbay.domain.usage import UNREPORTED
from patchbay.protocols.common import data_url, result_text
from patchbay.protocols.openai_usage import usage_from_openai_chat
from patchbay.protocols.sse import SSEParser, json_of
from patchbay.providers import shaping
from patchbay.providers.base import HTTPAdapter

FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def path(upstream_model: str, stream: bool) -> str:
    return "/chat/completions"


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}


def _file(part: FilePart) -> dict[str, Any] | None:
    media = part.media_type or ""
    if media.startswith("audio/") and part.data:
        fmt = AUDIO_FORMATS.get(media, media.split("/", 1)[1])
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": fmt}}
    file: dict[str, Any] = {}
    if part.data:
        file["file_data"] = f"data:{media or 'application/pdf'};base64,{part.data}"
    elif part.file_id:
        file["file_id"] = part.file_id
    else:
        return None  # a document by URL: Chat Completions cannot fetch one
    if part.filename:
        file["filename"] = part.filename
    return {"type": "file", "file": file}


def _content(parts: tuple[Part, ...]) -> str | list[dict[str, Any]]:
    items = [p for p in parts if isinstance(p, TextPart | ImagePart | FilePart)]
    if all(isinstance(p, TextPart) for p in items):
        return "".join(p.text for p in items if isinstance(p, TextPart))
    out: list[dict[str, Any]] = []
    for p in items:
        if isinstance(p, TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            image: dict[str, Any] = {"url": data_url(p)}
            if p.detail:
                image["detail"] = p.detail
            out.append({"type": "image_url", "image_url": image})
        else:
            file = _file(p)
            if file is not None:
                out.append(file)
    return out


def encode_messages(req: ChatRequest) -> list[dict[str, Any]]:
    """System/developer messages stay where they are; tool results become tool messages."""
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": shaping.system_text(req)})
    for message in req.messages:
        if message.role in ("system", "developer"):
            out.append({"role": message.role, "content": message.text()})
            continue
        results = [p for p in message.parts if isinstance(p, ToolResult)]
        for result in results:
            out.append(
                {"role": "tool", "tool_call_id": result.call_id, "content": result_text(result)}
            )
        if results and not any(
            isinstance(p, TextPart | ImagePart | FilePart) for p in message.parts
        ):
            continue
        role = "user" if message.role == "tool" else message.role
        entry: dict[str, Any] = {"role": role, "content": _content(message.parts)}
        calls = message.tool_calls()
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": shaping.call_arguments(c)},
                }
                for c in calls
            ]
            if not entry["content"]:
                entry["content"] = None
        out.append(entry)
    return out


def _tool_choice(req: ChatRequest) -> Any:
    choice = req.tool_choice
    if choice is None:
        return None
    if choice.mode == "tool":
        if choice.name == HOSTED_WEB_SEARCH:
            return "auto"  # the hosted search is not offered here: let the model decide
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def build_request(req: ChatRequest, *, upstream_model: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": upstream_model, "messages": encode_messages(req)}
    tools = shaping.function_tools(req)
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    k: v
                    for k, v in (
                        ("name", t.name),
                        ("description", t.description),
                        ("parameters", t.parameters),
                        ("strict", t.strict),
                    )
                    if v is not None
                },
            }
            for t in tools
        ]
    optional = {
        "tool_choice": _tool_choice(req) if tools else None,
        "parallel_tool_calls": req.parallel_tool_calls if tools else None,
        "max_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "stop": list(req.stop) or None,
        "reasoning_effort": shaping.effort(req),
        "user": req.user,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema":
        schema: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.schema or {}}
        if fmt.strict is not None:
            schema["strict"] = fmt.strict
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif fmt is not None:
        body["response_format"] = {"type": fmt.type}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def parse_response(body: dict[str, Any]) -> ChatResponse:
    choice = body["choices"][0]
    message = choice.get("message") or {}
    parts: list[Part] = []
    if message.get("reasoning_content"):
        parts.append(ReasoningPart(message["reasoning_content"]))
    if message.get("content"):
        parts.append(TextPart(message["content"]))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        parts.append(
            ToolCall(
                id=call.get("id", ""),
                name=function.get("name", ""),
                arguments=function.get("arguments") or "",
            )
        )
    return ChatResponse(
        id=body.get("id", ""),
        model=body.get("model", ""),
        message=Message(role="assistant", parts=tuple(parts)),
        finish_reason=FINISH.get(choice.get("finish_reason") or "stop", "stop"),
        usage=usage_from_openai_chat(body.get("usage")) or UNREPORTED,
        created=int(body.get("created") or 0),
    )


def parse_error(status: int, body: bytes) -> str:
    try:
        error = orjson.loads(body).get("error")
        return str(error.get("message") if isinstance(error, dict) else error or "")
    except (orjson.JSONDecodeError, AttributeError):
        return body[:200].decode("utf-8", "replace")


class StreamParser:
    """Chat chunks → canonical events. Finish is held until the usage chunk or the end."""

    def __init__(self) -> None:
        self.sse = SSEParser()
        self.started = False
        self.finish: FinishReason | None = None
        self.done = False
        self.tools_seen: set[int] = set()

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for data in self.sse.payloads(chunk):
            out.extend(self._event(data))
        return out

    def close(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for data in self.sse.close_payloads():
            out.extend(self._event(data))
        if not self.done:
            self.done = True
            if self.finish is None:
                return [*out, StreamError(502, "upstream stream ended early")]
            out.append(Finish(self.finish))
        return out

    def _event(self, data: bytes) -> list[StreamEvent]:
        if self.done:
            return []
        if data == b"[DONE]":
            self.done = True
            return [Finish(self.finish or "stop")]
        chunk = json_of(data)
        if "error" in chunk:
            self.done = True
            error = chunk["error"] if isinstance(chunk["error"], dict) else {}
            return [StreamError(502, str(error.get("message", "upstream error")))]
        out: list[StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(
                Start(chunk.get("id", ""), chunk.get("model", ""), int(chunk.get("created") or 0))
            )
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                if len(delta) == 1 and "content" in delta:  # most chunks: text alone
                    if delta["content"]:
                        out.append(TextDelta(delta["content"]))
                else:
                    out.extend(self._delta(delta))
            if choice.get("finish_reason"):
                self.finish = FINISH.get(choice["finish_reason"], "stop")
        if chunk.get("usage") is not None:
            usage = usage_from_openai_chat(chunk["usage"])
            if usage is not None:
                out.append(UsageReport(usage))
        return out

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if delta.get("reasoning_content"):
            out.append(ReasoningDelta(delta["reasoning_content"]))
        if delta.get("content"):
            out.append(TextDelta(delta["content"]))
        for call in delta.get("tool_calls") or ():
            index = int(call.get("index", 0))
            function = call.get("function") or {}
            if index not in self.tools_seen:
                self.tools_seen.add(index)
                out.append(ToolCallStart(index, call.get("id", ""), function.get("name", "")))
            if function.get("arguments"):
                out.append(ToolCallDelta(index, function["arguments"]))
        return out


class OpenAIChatAdapter(HTTPAdapter):
    """Upstream kind ``openai``."""

    kind = "openai"

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


ADAPTER = OpenAIChatAdapter()
