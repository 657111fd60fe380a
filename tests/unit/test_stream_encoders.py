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
