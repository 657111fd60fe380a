"""The built-in ``echo`` kind: answers in-process, with no network and exact usage.

Behaviour (documented in the README):
- It streams back the text of the last user message, one token at a time.
- ``max_tokens`` (any protocol's output limit) is honoured exactly; a cut answer finishes with
  ``length``.
- Tool-call trigger: when the request offers tools and the last user message contains
  ``!tool`` — optionally ``!tool NAME {json arguments}`` — echo answers with a call to tool
  NAME (default: the tool named by ``tool_choice``, else the first tool) with those arguments
  (default ``{}``). ``tool_choice`` of ``required`` or a named tool forces a call as well.
- After a tool result, it answers ``Tool result: <the result's text>``.
- When JSON output is requested it answers ``{"echo": "<text>"}``.
- Usage: prompt tokens are counted over system and message text with the shipped tokenizer;
  completion tokens are exactly the tokens it emitted.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator

import orjson

from patchbay.accounting import tokens
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.assemble import assemble
from patchbay.domain.events import (
    Finish,
    LastEvents,
    Start,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from patchbay.domain.messages import ToolResult
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.domain.usage import Usage
from patchbay.providers.base import NativeWire, Transport

TRIGGER = re.compile(r"!tool(?:\s+([A-Za-z_][\w.\-]*))?(?:\s+(\{.*\}))?", re.DOTALL)


def _prompt_tokens(req: ChatRequest) -> int:
    items = [("system", "".join(p.text for p in req.system))] if req.system else []
    for message in req.messages:
        text = message.text()
        for part in message.parts:
            if isinstance(part, ToolResult):
                text += "".join(getattr(p, "text", "") for p in part.content)
        for call in message.tool_calls():
            text += call.name + call.arguments
        items.append((message.role, text))
    return tokens.count_messages(items)


def _tool_call(req: ChatRequest) -> tuple[str, str] | None:
    if not req.tools or _last_tool_result(req) is not None:
        return None
    choice = req.tool_choice
    if choice is not None and choice.mode == "none":
        return None
    match = TRIGGER.search(req.last_user_text())
    forced = choice is not None and choice.mode in ("required", "tool")
    if match is None and not forced:
        return None
    names = {t.name for t in req.tools}
    name = match.group(1) if match and match.group(1) in names else None
    name = name or (choice.name if choice and choice.mode == "tool" else None) or req.tools[0].name
    arguments = match.group(2) if match and match.group(2) else "{}"
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError:
        arguments = "{}"
    return name, arguments


def _last_tool_result(req: ChatRequest) -> ToolResult | None:
    last = req.messages[-1] if req.messages else None
    results = [p for p in last.parts if isinstance(p, ToolResult)] if last else []
    return results[-1] if results else None


def _answer_text(req: ChatRequest) -> str:
    result = _last_tool_result(req)
    if result is not None:
        return "Tool result: " + "".join(getattr(p, "text", "") for p in result.content)
    text = req.last_user_text()
    fmt = req.response_format
    if fmt is not None and fmt.type in ("json_object", "json_schema"):
        return orjson.dumps({"echo": text}).decode()
    return text


async def stream(req: ChatRequest, *, model: str) -> AsyncIterator[StreamEvent]:
    """The answer as canonical events; ``model`` is the id the client asked for."""
    yield Start(id=f"echo-{uuid.uuid4().hex[:24]}", model=model, created=int(time.time()))
    prompt = _prompt_tokens(req)
    call = _tool_call(req)
    if call is not None:
        name, arguments = call
        yield ToolCallStart(index=0, id=f"call_{uuid.uuid4().hex[:24]}", name=name)
        yield ToolCallDelta(index=0, arguments=arguments)
        spent = tokens.count_text(name + arguments)
        yield UsageReport(Usage(input_tokens=prompt, output_tokens=spent))
        yield Finish("tool_calls")
        return
    pieces = tokens.split_tokens(_answer_text(req))
    limit = req.max_output_tokens
    cut = limit is not None and len(pieces) > limit
    if cut:
        pieces = pieces[:limit]
    for piece in pieces:
        yield TextDelta(piece)
    yield UsageReport(Usage(input_tokens=prompt, output_tokens=len(pieces)))
    yield Finish("length" if cut else "stop")


class EchoAdapter:
    """The ``echo`` kind as an adapter: no transport, no native wire (nothing to pass through)."""

    kind = "echo"
    native: NativeWire | None = None

    async def complete(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> ChatResponse:
        return await assemble(stream(request, model=route.upstream_model))

    async def stream(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> AsyncIterator[list[StreamEvent]]:
        return _whole(request, route.upstream_model)


async def _whole(request: ChatRequest, model: str) -> AsyncIterator[list[StreamEvent]]:
    """The echo answer's events in one batch: all of it is at hand at once."""
    yield LastEvents([event async for event in stream(request, model=model)])


ADAPTER = EchoAdapter()
