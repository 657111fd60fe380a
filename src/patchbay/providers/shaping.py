"""What every upstream encoder shares: tools, instructions and reasoning shaped for a target.

The mapping each function applies is the one docs/translation.md tabulates; encoders call
these rather than each deciding again.
"""

from __future__ import annotations

from patchbay.domain.messages import Message, TextPart, ToolCall
from patchbay.domain.requests import HOSTED_WEB_SEARCH, ChatRequest, ToolDefinition
from patchbay.domain.tools import custom_as_function, wrap_input

# OpenAI effort levels → a thinking budget in tokens (Anthropic, Gemini)
EFFORT_BUDGET = {
    "minimal": 512,
    "low": 1024,
    "medium": 4096,
    "high": 16384,
    "xhigh": 32768,
    "max": 32768,
}
NO_REASONING = ("none",)


def effort(req: ChatRequest) -> str | None:
    """The OpenAI effort level for a request (a budget is bucketed; ``max`` is ``xhigh``)."""
    if req.reasoning_effort is not None:
        return "xhigh" if req.reasoning_effort == "max" else req.reasoning_effort
    budget = req.thinking_budget
    if budget is None:
        return None
    if budget <= 1024:
        return "low"
    return "medium" if budget <= 8192 else "high"


def budget(req: ChatRequest) -> int | None:
    """A thinking budget in tokens, or ``None`` when the request asks for no reasoning."""
    if req.thinking_budget is not None:
        return req.thinking_budget
    if req.reasoning_effort is None or req.reasoning_effort in NO_REASONING:
        return None
    return EFFORT_BUDGET.get(req.reasoning_effort)


def function_tools(req: ChatRequest) -> list[ToolDefinition]:
    """The tools as functions, for targets without custom tools: custom tools wrapped,
    hosted tools left out (see ``wants_web_search``)."""
    out = []
    for tool in req.tools:
        if tool.kind == "custom":
            out.append(custom_as_function(tool))
        elif tool.kind == "function":
            out.append(tool)
    return out


def web_search(req: ChatRequest) -> ToolDefinition | None:
    """The hosted web search the client asked for, if any."""
    for tool in req.tools:
        if tool.kind == "hosted" and tool.name == HOSTED_WEB_SEARCH:
            return tool
    return None


def call_arguments(call: ToolCall) -> str:
    """A call's arguments for a target without custom tools (a custom input wrapped)."""
    return wrap_input(call.arguments) if call.kind == "custom" else call.arguments


def system_text(req: ChatRequest) -> str:
    return "".join(p.text for p in req.system)


def instructions(messages: tuple[Message, ...]) -> list[str]:
    """The text of system/developer messages inside the conversation, in order."""
    return [m.text() for m in messages if m.role in ("system", "developer") and m.text()]


def conversation(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """The conversation without its system/developer messages (for targets that take
    instructions only apart from the turns)."""
    return tuple(m for m in messages if m.role not in ("system", "developer"))


def with_user_turn(
    req: ChatRequest, messages: tuple[Message, ...]
) -> tuple[tuple[Message, ...], bool]:
    """For targets that need a user turn: when the conversation has none, the instructions
    become the first user turn. Returns the turns and whether the instructions moved."""
    if any(m.role in ("user", "tool") for m in messages):
        return messages, False
    text = "\n\n".join([system_text(req), *instructions(req.messages)]).strip()
    return (Message("user", (TextPart(text or "."),)), *messages), True
