"""Conversation content in the gateway's canonical form.

Every client protocol decodes into these types and every upstream kind encodes from them, so a
protocol adapter never needs to know another protocol. Values are frozen; lists inside them are
tuples. ``extras`` slots carry provider-only data (signatures, ids, cache hints) under a
namespace key such as ``"anthropic"`` or ``"openai"`` so it survives a round trip untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "developer", "user", "assistant", "tool"]
Extras = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    extras: Extras = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL (``http(s)://`` or ``data:`` URL) or by inline base64 data."""

    url: str | None = None
    data: str | None = None  # base64, without the data: prefix
    media_type: str | None = None
    detail: str | None = None
    extras: Extras = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FilePart:
    """A document or an audio clip: inline base64 ``data``, a ``url``, or a provider's
    ``file_id``; ``media_type`` says what it is (``application/pdf``, ``audio/wav``, …)."""

    data: str | None = None
    url: str | None = None
    file_id: str | None = None
    media_type: str | None = None
    filename: str | None = None
    extras: Extras = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asks for; ``arguments`` is the raw JSON text, never re-serialised
    (for a ``custom`` tool: its free-form input). ``namespace`` is the client's namespace of
    the tool, ``name`` then the tool's own name inside it."""

    id: str
    name: str
    arguments: str
    extras: Extras = field(default_factory=dict)
    kind: Literal["function", "custom"] = "function"
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What the caller's tool answered to the call ``call_id``."""

    call_id: str
    content: tuple[TextPart | ImagePart | FilePart, ...]
    name: str | None = None
    is_error: bool = False
    extras: Extras = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    text: str
    signature: str | None = None
    extras: Extras = field(default_factory=dict)


Part = TextPart | ImagePart | FilePart | ToolCall | ToolResult | ReasoningPart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]
    name: str | None = None
    extras: Extras = field(default_factory=dict)

    def text(self) -> str:
        """The message's text parts joined, the way a plain-text reader would see them."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(p for p in self.parts if isinstance(p, ToolCall))
