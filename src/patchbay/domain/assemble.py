"""Fold a canonical event stream into one ``ChatResponse`` (for non-streaming answers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from patchbay.domain.messages import Message, Part, ReasoningPart, TextPart, ToolCall
from patchbay.domain.responses import ChatResponse, FinishReason
from patchbay.domain.usage import Usage


class StreamFailed(Exception):
    def __init__(self, error: StreamError) -> None:
        super().__init__(error.message)
        self.error = error


class Assembler:
    """Accumulates events; ``response()`` gives the answer they describe."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.signature: str | None = None
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, args...]
        self.usage = Usage()
        self.finish: FinishReason = "stop"

    def add(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ToolCallDelta):
            self.calls.setdefault(event.index, ["", ""]).append(event.arguments)
        elif isinstance(event, ToolCallStart):
            self.calls[event.index] = [event.id, event.name]
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
            self.signature = event.signature or self.signature
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, Finish):
            self.finish = event.reason
        elif isinstance(event, Start):
            self.id, self.model, self.created = event.id, event.model, event.created
        elif isinstance(event, StreamError):
            raise StreamFailed(event)

    def response(self) -> ChatResponse:
        parts: list[Part] = []
        if self.reasoning:
            parts.append(ReasoningPart("".join(self.reasoning), signature=self.signature))
        if self.text:
            parts.append(TextPart("".join(self.text)))
        for index in sorted(self.calls):
            call_id, name, *args = self.calls[index]
            parts.append(ToolCall(id=call_id, name=name, arguments="".join(args)))
        return ChatResponse(
            id=self.id,
            model=self.model,
            message=Message(role="assistant", parts=tuple(parts)),
            finish_reason=self.finish,
            usage=self.usage,
            created=self.created,
        )


async def assemble(events: AsyncIterator[StreamEvent]) -> ChatResponse:
    assembler = Assembler()
    async for event in events:
        assembler.add(event)
    return assembler.response()
