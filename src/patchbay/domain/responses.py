"""The canonical answer of a non-streaming call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from patchbay.domain.messages import Extras, Message
from patchbay.domain.usage import Usage

# stop: natural end or stop sequence; length: token limit; tool_calls: the model wants tools;
# content_filter: refused by a safety filter; error: ended by an upstream fault.
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(frozen=True, slots=True)
class ChatResponse:
    id: str
    model: str
    message: Message
    finish_reason: FinishReason
    usage: Usage
    created: int = 0  # Unix seconds
    extras: Extras = field(default_factory=dict)
