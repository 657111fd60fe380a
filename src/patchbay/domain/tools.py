"""Tools a target cannot take natively, and how their calls come back to the client.

- **Namespace tools** (Responses' ``namespace``: a group of function/custom tools) are
  flattened when decoded: each inner tool becomes ``<namespace>__<name>`` (a valid function
  name for every upstream), with ``namespace`` set; a call to such a name is given back to
  the client as the tool's own name in its namespace.
- **Custom tools** (free-form input, e.g. Codex's ``apply_patch``) go to upstreams without
  them as a function with one string parameter ``input``; the call's arguments
  ``{"input": "..."}`` become the custom call's input again.

``ToolMap`` does the way back for whole answers and for streams (a wrapped custom call's
argument deltas are held until the call ends, then given as one input delta).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import orjson

from patchbay.domain.events import Finish, StreamError, StreamEvent, ToolCallDelta, ToolCallStart
from patchbay.domain.messages import Message, ToolCall
from patchbay.domain.requests import ToolDefinition
from patchbay.domain.responses import ChatResponse

SEPARATOR = "__"
CUSTOM_INPUT = "input"


def flatten(namespace: str, name: str) -> str:
    return f"{namespace}{SEPARATOR}{name}"


def inner_name(tool: ToolDefinition) -> str:
    """The tool's own name inside its namespace."""
    if tool.namespace and tool.name.startswith(tool.namespace + SEPARATOR):
        return tool.name[len(tool.namespace) + len(SEPARATOR) :]
    return tool.name


def custom_as_function(tool: ToolDefinition) -> ToolDefinition:
    """A custom tool as a function with one free-form string argument."""
    hint = "The whole input of this tool, as free-form text."
    fmt = tool.extras.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        hint += (
            f" It must follow this {fmt.get('syntax', '')} grammar:\n{fmt.get('definition', '')}"
        )
    parameters = {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": hint}},
        "required": [CUSTOM_INPUT],
    }
    return replace(tool, kind="function", parameters=parameters, strict=None)


def wrap_input(text: str) -> str:
    """A custom call's input as the arguments of its function stand-in."""
    return orjson.dumps({CUSTOM_INPUT: text}).decode()


def unwrap_input(arguments: str) -> str:
    try:
        value: Any = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get(CUSTOM_INPUT), str):
        return str(value[CUSTOM_INPUT])
    return arguments


class ToolMap:
    """The client's tools by wire name: gives calls back in the client's own terms."""

    def __init__(self, tools: tuple[ToolDefinition, ...]) -> None:
        self.tools = {t.name: t for t in tools if t.kind != "hosted"}
        self.needed = any(t.namespace or t.kind == "custom" for t in self.tools.values())
        self._held: dict[int, list[str]] = {}  # stream: wrapped custom calls' argument text

    def call(self, call: ToolCall) -> ToolCall:
        tool = self.tools.get(call.name)
        if tool is None or not (tool.namespace or tool.kind == "custom"):
            return call
        arguments = call.arguments
        if tool.kind == "custom" and call.kind == "function":
            arguments = unwrap_input(arguments)
        return replace(
            call,
            name=inner_name(tool),
            namespace=tool.namespace,
            kind="custom" if tool.kind == "custom" else "function",
            arguments=arguments,
        )

    def answer(self, answer: ChatResponse) -> ChatResponse:
        if not self.needed:
            return answer
        parts = tuple(self.call(p) if isinstance(p, ToolCall) else p for p in answer.message.parts)
        return replace(answer, message=Message(answer.message.role, parts, answer.message.name))

    def event(self, event: StreamEvent) -> list[StreamEvent]:
        """One upstream event → the client's events (a held custom input is released when
        the next call starts or the stream ends)."""
        if not self.needed:
            return [event]
        if isinstance(event, ToolCallDelta) and event.index in self._held:
            self._held[event.index].append(event.arguments)
            return []
        out = self._release() if isinstance(event, ToolCallStart | Finish | StreamError) else []
        if isinstance(event, ToolCallStart):
            tool = self.tools.get(event.name)
            if tool is not None and (tool.namespace or tool.kind == "custom"):
                if tool.kind == "custom" and event.kind == "function":
                    self._held[event.index] = []
                kind: Literal["function", "custom"] = (
                    "custom" if tool.kind == "custom" else "function"
                )
                event = replace(event, name=inner_name(tool), namespace=tool.namespace, kind=kind)
        return [*out, event]

    def _release(self) -> list[StreamEvent]:
        held, self._held = self._held, {}
        return [ToolCallDelta(i, unwrap_input("".join(parts))) for i, parts in held.items()]
