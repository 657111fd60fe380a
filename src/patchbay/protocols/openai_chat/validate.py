"""Cheap structural validation of a Chat Completions body, for the fast path that forwards the
body without decoding it. Never stricter than the official API: roles, content part types and
tool types it does not know are left for the upstream to judge (same-protocol calls forward
them), only the shapes every upstream would refuse are refused here."""

from __future__ import annotations

from typing import Any

from patchbay.protocols.errors import RequestInvalid

NUMBERS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})
COUNTS = frozenset({"max_tokens", "max_completion_tokens", "n", "top_logprobs"})  # >= 0
INTEGERS = frozenset({"seed"})  # any int64


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise RequestInvalid(f"{where} must be an object", where)
    role = message.get("role")
    if not isinstance(role, str) or not role:
        raise RequestInvalid(f"{where}.role must be a string", f"{where}.role")
    content = message.get("content")
    if content is None:
        if role in ("user", "system", "developer") or (role == "tool"):
            raise RequestInvalid(f"{where}.content is required", f"{where}.content")
    elif not isinstance(content, str | list):
        raise RequestInvalid(
            f"{where}.content must be a string or an array of parts", f"{where}.content"
        )
    elif isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise RequestInvalid(
                    f"{where}.content[{j}] must be an object with a type", f"{where}.content[{j}]"
                )
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise RequestInvalid(
            f"{where}.tool_call_id is required for tool messages", f"{where}.tool_call_id"
        )


def validate_request(body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestInvalid("model is required and must be a string", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestInvalid("messages must be a non-empty array", "messages")
    for index, message in enumerate(messages):
        _check_message(index, message)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise RequestInvalid("stream must be a boolean", "stream")
    for name, value in body.items():  # the body's own fields: a handful, not every option
        if value is None:
            continue
        if name in NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RequestInvalid(f"{name} must be a number", name)
        elif name in COUNTS and (not _is_int(value) or value < 0):
            raise RequestInvalid(f"{name} must be a non-negative integer", name)
        elif name in INTEGERS and not _is_int(value):
            raise RequestInvalid(f"{name} must be an integer", name)
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise RequestInvalid("tools must be an array", "tools")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise RequestInvalid(f"tools[{i}] must be an object", f"tools[{i}]")
            if tool.get("type", "function") != "function":
                continue  # custom and future tool types: the upstream's to judge
            function = tool.get("function")
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise RequestInvalid(
                    f"tools[{i}].function.name is required", f"tools[{i}].function.name"
                )
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise RequestInvalid("stream_options must be an object", "stream_options")
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise RequestInvalid("stop must be a string or an array of strings", "stop")
