"""The start-up check: one call per scenario to every target, before anything is measured.
The answer must be 200 and parse as the client protocol's answer with the official SDKs' own
types (openai, anthropic, google-genai) — every stream event, in the protocol's order, with
its usage — and carry the fixed text nginx answers. A benchmark of error answers is worthless,
so a failing check stops the run for nginx, the passthrough and Patchbay; LiteLLM is reported
n/a for that scenario, with the reason.

Types are checked strictly (pydantic validation: every required field of the pinned SDK
types) and, for every target but nginx, also as the SDKs themselves read answers (loosely, a
missing field tolerated): an answer that passes only the loose reading is measured, and the
strict complaint is reported as a warning. nginx's fixed answers must pass strictly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Union, get_args, get_origin

import httpx
from scenarios import Scenario, headers
from upstream.bodies import TEXT


class ShapeError(Exception):
    pass


def _member(kind: Any, data: Any) -> Any:
    """The member of a union of event types whose ``type`` literal is the event's (so a
    failure names that event's fields, not every member's)."""
    args = get_args(kind)
    union = args[0] if args and get_origin(kind) is Annotated else kind
    if get_origin(union) is not Union or not isinstance(data, dict):
        return kind
    for member in get_args(union):
        field = getattr(member, "model_fields", {}).get("type")
        if field is not None and data.get("type") in get_args(field.annotation):
            return member
    return kind


def load(kind: Any, data: Any, strict: bool) -> Any:
    """``data`` as the SDK type ``kind`` (a model or an annotated union)."""
    from pydantic import TypeAdapter

    if strict:
        return TypeAdapter(_member(kind, data)).validate_python(data)
    if getattr(kind, "__module__", "").startswith("anthropic") or "anthropic" in repr(kind):
        from anthropic._models import construct_type as anthropic_construct

        return anthropic_construct(value=data, type_=kind)
    from openai._models import construct_type

    return construct_type(value=data, type_=kind)


def _require(ok: object, message: str) -> None:
    if not ok:
        raise ShapeError(message)


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) for each SSE event, CRLF or LF framed, up to a ``[DONE]`` (where the
    openai SDK stops reading)."""
    text = raw.decode().replace("\r\n", "\n")
    events = []
    for block in text.split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data and data[0].startswith("[DONE]"):
            break
        if data:
            events.append((name, "\n".join(data)))
    return events


def chat_whole(raw: bytes, strict: bool) -> str:
    from openai.types.chat import ChatCompletion

    answer = load(ChatCompletion, json.loads(raw), strict)
    _require(answer.usage is not None, "no usage")
    return answer.choices[0].message.content or ""


def chat_stream(raw: bytes, strict: bool) -> str:
    from openai.types.chat import ChatCompletionChunk

    text, usage = "", False
    for _, data in sse_events(raw):
        chunk = load(ChatCompletionChunk, json.loads(data), strict)
        usage = usage or chunk.usage is not None
        text += "".join(c.delta.content or "" for c in chunk.choices)
    _require(usage, "no usage chunk (stream_options.include_usage was asked)")
    return text


def responses_whole(raw: bytes, strict: bool) -> str:
    from openai.types.responses import Response

    answer = load(Response, json.loads(raw), strict)
    _require(answer.usage is not None, "no usage")
    return answer.output_text


def responses_stream(raw: bytes, strict: bool) -> str:
    from openai.types.responses import ResponseStreamEvent

    events = [load(ResponseStreamEvent, json.loads(d), strict) for _, d in sse_events(raw)]
    _require(events, "no events")
    _require(events[0].type == "response.created", f"first event {events[0].type}")
    _require(events[-1].type == "response.completed", f"last event {events[-1].type}")
    _require(events[-1].response.usage is not None, "response.completed without usage")
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def anthropic_whole(raw: bytes, strict: bool) -> str:
    from anthropic.types import Message

    answer = load(Message, json.loads(raw), strict)
    return "".join(b.text for b in answer.content if b.type == "text")


MESSAGE_EVENTS = (
    "message_start",
    "message_delta",
    "message_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
)


def anthropic_stream(raw: bytes, strict: bool) -> str:
    from anthropic.types import RawMessageStreamEvent

    events = []
    for name, data in sse_events(raw):  # as the anthropic SDK reads them: by event name
        _require(name != "error", f"error event: {data[:200]}")
        if name not in MESSAGE_EVENTS:
            continue
        event = load(RawMessageStreamEvent, json.loads(data), strict)
        _require(name == event.type, f"event name {name} for a {event.type}")
        events.append(event)
    _require(events, "no events")
    _require(events[0].type == "message_start", f"first event {events[0].type}")
    _require(events[-1].type == "message_stop", f"last event {events[-1].type}")
    deltas = [e for e in events if e.type == "message_delta"]
    _require(deltas and deltas[-1].usage.output_tokens, "no message_delta with usage")
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def _gemini(data: dict[str, Any], strict: bool) -> Any:
    from google.genai.types import GenerateContentResponse

    if strict:  # every field known and valid
        return GenerateContentResponse.model_validate(data)
    return GenerateContentResponse._from_response(response=data, kwargs={})  # as the SDK reads


def gemini_whole(raw: bytes, strict: bool) -> str:
    answer = _gemini(json.loads(raw), strict)
    _require(answer.usage_metadata is not None, "no usageMetadata")
    return answer.text or ""


def gemini_stream(raw: bytes, strict: bool) -> str:
    chunks = [_gemini(json.loads(d), strict) for _, d in sse_events(raw)]
    _require(chunks, "no chunks")
    last = chunks[-1]
    usage = last.usage_metadata
    _require(usage is not None and usage.candidates_token_count, "last chunk without usage")
    _require(last.candidates and last.candidates[0].finish_reason, "no finish reason")
    return "".join(c.text or "" for c in chunks)


PARSERS: dict[tuple[str, bool], Callable[[bytes, bool], str]] = {
    ("chat", False): chat_whole,
    ("chat", True): chat_stream,
    ("responses", False): responses_whole,
    ("responses", True): responses_stream,
    ("anthropic", False): anthropic_whole,
    ("anthropic", True): anthropic_stream,
    ("gemini", False): gemini_whole,
    ("gemini", True): gemini_stream,
}


def describe(exc: Exception) -> str:
    """One line: for a validation error, the type and each field's complaint."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        return f"{exc.title} — {fields}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def check(url: str, key: str, kind: str, scenario: Scenario) -> tuple[str | None, str | None]:
    """(why the target does not answer the scenario's call as its protocol should, or None;
    a warning when its answer passes only the SDKs' loose reading)."""
    path = scenario.path(kind)
    try:
        answer = httpx.post(url + path, content=scenario.body(), headers=headers(key), timeout=60)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}", None
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}: {answer.text[:300]}", None
    kind_header = answer.headers.get("content-type", "")
    wanted = "text/event-stream" if scenario.stream else "application/json"
    if not kind_header.startswith(wanted):
        return f"content-type {kind_header!r}, not {wanted}", None
    parse = PARSERS[scenario.protocol, scenario.stream]
    warning = None
    for strict in (True, False) if kind != "nginx" else (True,):
        try:
            text = parse(answer.content, strict)
        except (ShapeError, ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            why = f"not a {scenario.protocol} answer: {describe(exc)}"
            if strict and kind != "nginx":
                warning = "strict SDK types: " + why
                continue
            return why, warning
        if text != TEXT:
            return f"text {text!r}, not {TEXT!r}", warning
        return None, warning
    return "unreachable", warning
