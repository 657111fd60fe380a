"""The canonical chat request every client protocol decodes into.

``system`` holds the system/developer instructions separately from ``messages`` (Anthropic and
Gemini keep them apart; OpenAI's system messages are lifted into it). ``extras`` carries fields
only one protocol knows, namespaced by protocol, so a same-protocol upstream can still receive
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from patchbay.domain.messages import Extras, Message, TextPart

ToolKind = Literal["function", "custom", "hosted"]
HOSTED_WEB_SEARCH = "web_search"


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool the model may call.

    ``function``: JSON-schema arguments. ``custom``: one free-form string input (OpenAI's
    custom tools, e.g. Codex's ``apply_patch``); ``extras["format"]`` keeps its grammar.
    ``hosted``: a tool the upstream runs itself; ``name`` says which (``web_search``).
    ``namespace`` is the client's group (Responses namespace tools): ``name`` is then the
    flattened, reversible wire name ``<namespace>__<tool>`` (see ``domain.tools``).
    """

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON Schema
    strict: bool | None = None
    extras: Extras = field(default_factory=dict)
    kind: ToolKind = "function"
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """``auto`` (model decides), ``none``, ``required`` (any tool), or ``tool`` (the named one)."""

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """``text``, ``json_object`` or ``json_schema`` (with ``schema`` and its ``name``)."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    system: tuple[TextPart, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    reasoning_effort: str | None = None  # none | minimal | low | medium | high | xhigh | max
    thinking_budget: int | None = None  # tokens, when the client gave a budget
    reasoning_summary: bool = False  # the client asked to see the reasoning (summaries)
    stream: bool = False
    user: str | None = None
    extras: Extras = field(default_factory=dict)

    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        return ""
