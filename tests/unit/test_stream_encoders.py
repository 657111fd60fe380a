"""Client stream encoders write text deltas from templates: each must be the bytes the general
event writer gives (compact JSON, the official key order), whatever the text."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.domain.events import Finish, Start, StreamEvent, TextDelta, ToolCallStart
from patchbay.protocols.anthropic_messages.stream import StreamEncoder as AnthropicEncoder
from patchbay.protocols.openai_responses.stream import StreamEncoder as ResponsesEncoder

TEXTS = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=6)


def events_of(body: bytes) -> list[tuple[str, bytes]]:
    out = []
    for block in body.split(b"\n\n"):
        if block:
            head, _, data = block.partition(b"\n")
            assert head.startswith(b"event: ") and data.startswith(b"data: "), block
            out.append((head[7:].decode(), data[6:]))
    return out


def stream(encoder: Any, texts: list[str], tool_between: bool) -> bytes:
    events: list[StreamEvent] = [Start("id-1", "up")]
    for i, text in enumerate(texts):
        if tool_between and i == len(texts) // 2:  # a new text block after a tool call
            events.append(ToolCallStart(0, "call_1", "lookup"))
        events.append(TextDelta(text))
    events.append(Finish("stop"))
    return b"".join(encoder.encode(e) for e in events)


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.booleans())
def test_anthropic_text_deltas_are_the_general_writers_bytes(
    texts: list[str], tool_between: bool
) -> None:
    events = events_of(stream(AnthropicEncoder(model="m"), texts, tool_between))
    deltas = [(name, data) for name, data in events if name == "content_block_delta"]
    assert len(deltas) == len(texts)
    index = -1
    written = iter(texts)
    for name, data in events:
        parsed = orjson.loads(data)
        assert parsed["type"] == name
        if name == "content_block_start":
            index = parsed["index"]
        elif name == "content_block_delta":
            delta = {"type": "text_delta", "text": next(written)}
            assert data == orjson.dumps({"type": name, "index": index, "delta": delta})


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.booleans())
def test_responses_text_deltas_are_the_general_writers_bytes(
    texts: list[str], tool_between: bool
) -> None:
    events = events_of(stream(ResponsesEncoder(model="m"), texts, tool_between))
    item_id, output_index = None, -1
    written = iter(texts)
    for number, (name, data) in enumerate(events):
        parsed = orjson.loads(data)
        assert parsed["type"] == name and parsed["sequence_number"] == number
        if name == "response.output_item.added":
            item_id, output_index = parsed["item"]["id"], parsed["output_index"]
        elif name == "response.output_text.delta":
            expected = {
                "type": name,
                "sequence_number": number,
                "item_id": item_id,
                "output_index": output_index,
                "content_index": 0,
                "delta": next(written),
                "logprobs": [],
            }
            assert data == orjson.dumps(expected)
    assert next(written, None) is None  # every text written
    final = orjson.loads(events[-1][1])["response"]
    messages = [item for item in final["output"] if item["type"] == "message"]
    assert "".join(m["content"][0]["text"] for m in messages) == "".join(texts)


FIELDS = {  # each templated Responses event's fields after its type and sequence number
    "response.created": ["response"],
    "response.in_progress": ["response"],
    "response.output_item.added": ["output_index", "item"],
    "response.content_part.added": ["item_id", "output_index", "content_index", "part"],
    "response.output_text.done": ["item_id", "output_index", "content_index", "text", "logprobs"],
    "response.content_part.done": ["item_id", "output_index", "content_index", "part"],
    "response.output_item.done": ["output_index", "item"],
    "response.completed": ["response"],
}


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.booleans())
def test_responses_lifecycle_events_are_the_general_writers_bytes(
    texts: list[str], tool_between: bool
) -> None:
    """The snapshots and a message's added/done events, written from templates: compact JSON,
    the type and sequence number first, then the official fields in order."""
    events = events_of(stream(ResponsesEncoder(model="m"), texts, tool_between))
    final = orjson.loads(events[-1][1])["response"]
    done_items = []
    for number, (name, data) in enumerate(events):
        parsed = orjson.loads(data)
        if name not in FIELDS:
            continue
        rest = {k: v for k, v in parsed.items() if k not in ("type", "sequence_number")}
        assert list(rest) == FIELDS[name], name
        assert data == orjson.dumps({"type": name, "sequence_number": number, **rest}), name
        if name == "response.content_part.added":
            assert rest["part"] == {"type": "output_text", "text": "", "annotations": []}
        if name == "response.output_item.done":
            done_items.append(rest["item"])
    assert done_items == final["output"]
    texts_done = [orjson.loads(d)["text"] for n, d in events if n == "response.output_text.done"]
    assert "".join(texts_done) == "".join(texts)
