"""Canonical stream events: what any upstream stream is parsed into and any client stream is
encoded from, one event at a time (never a whole stream in memory). An adapter hands them on
in batches — the events of one upstream chunk together, so the client's bytes for them go out
in one write — and marks its last batch ``LastEvents`` when it knows nothing follows.

Order contract: ``Start`` first; then any interleaving of deltas, where a tool call's
``ToolCallStart`` precedes its ``ToolCallDelta``s and ``index`` numbers the tool calls of the
answer from 0; ``UsageReport`` at most once, near the end; then ``Finish`` (normal end) or
``StreamError`` (upstream fault), and nothing after either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from patchbay.domain.messages import Extras
from patchbay.domain.responses import FinishReason
from patchbay.domain.usage import Usage


@dataclass(frozen=True, slots=True)
class Start:
    id: str
    model: str
    created: int = 0


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    index: int
    id: str
    name: str
    extras: Extras = field(default_factory=dict)
    kind: Literal["function", "custom"] = "function"  # custom: the deltas are free-form input
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    arguments: str  # a fragment of the JSON argument text


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token usage; the gateway adds the cost before a client encoder sees it."""

    usage: Usage
    cost_usd: Decimal | None = None
    cost_points: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


@dataclass(frozen=True, slots=True)
class StreamError:
    status: int
    message: str
    kind: str = "upstream_error"


StreamEvent = (
    Start
    | TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallDelta
    | UsageReport
    | Finish
    | StreamError
)


class LastEvents(list[StreamEvent]):
    """A stream's last batch of events: the upstream's body is complete, nothing follows (its
    bytes go out with the end of the client's body, in one write)."""
