"""Same-protocol relays read the events between their notable ones as runs of bytes: what the
client gets, what is charged and what a cut stream counts must be what the event-by-event
reading gives, however the upstream's bytes are cut and whatever the events say."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.domain.usage import Usage
from patchbay.errors import UpstreamError
from patchbay.providers.native.anthropic import AnthropicRelay
from patchbay.providers.native.gemini import GeminiRelay
from patchbay.providers.native.openai_chat import ChatRelay
from patchbay.providers.native.openai_responses import ResponsesRelay
from patchbay.providers.native.relay import HOLD_BYTES, Run, SSERelay
from tests.unit.tallies import Tally

# text that looks like what the relays look for, as a model might write it
TEXT = st.sampled_from(
    ["Hi", " there", '"usage": {', "[DONE]", "response.completed", '"message_delta"', "\n\n", "é"]
) | st.text(max_size=12)


def dumps(data: Any, spaced: bool) -> bytes:
    return json.dumps(data).encode() if spaced else orjson.dumps(data)


@st.composite
def chat_events(draw: st.DrawFn) -> list[bytes]:
    spaced = draw(st.booleans())
    null_usage = draw(st.booleans())  # some servers send "usage": null on every chunk
    events = []
    for text in draw(st.lists(TEXT, max_size=12)):
        chunk: dict[str, Any] = {
            "id": "c",
            "model": "up",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
        }
        if null_usage:
            chunk["usage"] = None
        if draw(st.integers(0, 9)) == 0:  # running usage, as some servers report it
            chunk["usage"] = {"prompt_tokens": 2, "completion_tokens": 1}
        events.append(b"data: " + dumps(chunk, spaced))
        if draw(st.integers(0, 7)) == 0:
            events.append(b": keep-alive")
    events.append(
        b"data: " + dumps({"model": "up", "choices": [{"finish_reason": "stop"}]}, spaced)
    )
    if draw(st.booleans()):
        usage = {"prompt_tokens": 3, "completion_tokens": len(events)}
        events.append(b"data: " + dumps({"model": "up", "choices": [], "usage": usage}, spaced))
    events.append(draw(st.sampled_from([b"data: [DONE]", b"data:[DONE]"])))
    return events


@st.composite
def responses_events(draw: st.DrawFn) -> list[bytes]:
    named = draw(st.booleans())
    spaced = draw(st.booleans())
    numbered = draw(st.booleans())  # OpenAI numbers its events; other servers may not
    numbers = iter(range(1000))

    def event(data: dict[str, Any]) -> bytes:
        head = b"event: " + data["type"].encode() + b"\n" if named else b""
        if numbered:
            data = {**data, "sequence_number": next(numbers)}
        return head + b"data: " + dumps(data, spaced)

    response = {"id": "resp_1", "model": "up", "status": "in_progress"}
    events = [
        event({"type": "response.created", "response": response}),
        event({"type": "response.in_progress", "response": response}),
    ]
    for text in draw(st.lists(TEXT, max_size=12)):
        events.append(event({"type": "response.output_text.delta", "delta": text}))
    final = draw(st.sampled_from(["response.completed", "response.incomplete", None]))
    if final is not None:
        usage = {"input_tokens": 3, "output_tokens": len(events), "total_tokens": 9}
        done = {**response, "status": "completed", "usage": usage}
        events.append(event({"type": final, "response": done}))
    return events


@st.composite
def anthropic_events(draw: st.DrawFn) -> list[bytes]:
    spaced = draw(st.booleans())

    def event(data: dict[str, Any]) -> bytes:
        return b"event: " + data["type"].encode() + b"\ndata: " + dumps(data, spaced)

    message = {"id": "msg", "model": "up", "usage": {"input_tokens": 4, "output_tokens": 1}}
    events = [event({"type": "message_start", "message": message})]
    events.append(event({"type": "content_block_start", "index": 0, "content_block": {}}))
    for text in draw(st.lists(TEXT, max_size=12)):
        delta = {"type": "text_delta", "text": text}
        events.append(event({"type": "content_block_delta", "index": 0, "delta": delta}))
        if draw(st.integers(0, 7)) == 0:
            events.append(event({"type": "ping"}))
    events.append(event({"type": "content_block_stop", "index": 0}))
    if draw(st.booleans()):
        usage = {"output_tokens": len(events)}
        events.append(event({"type": "message_delta", "delta": {}, "usage": usage}))
    events.append(event({"type": "message_stop"}))
    return events


RELAYS = {
    "chat": (chat_events(), lambda tally: ChatRelay(tally, "m", "up", include_usage=True)),
    "chat-no-usage": (chat_events(), lambda tally: ChatRelay(tally, "m", "up", False)),
    "responses": (responses_events(), lambda tally: ResponsesRelay(tally, "m", "up")),
    "anthropic": (anthropic_events(), lambda tally: AnthropicRelay(tally, "m", "up")),
}


def relayed(relay: SSERelay, pieces: list[bytes], cut: bool) -> bytes:
    sent = b"".join(relay.feed(piece) for piece in pieces)
    if not cut:
        sent += relay.close()
    relay.drain()
    return sent


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(RELAYS)),
    data=st.data(),
    crlf=st.booleans(),
    cut=st.booleans(),
)
def test_runs_read_as_the_event_by_event_reading(
    kind: str, data: st.DataObject, crlf: bool, cut: bool
) -> None:
    strategy, make = RELAYS[kind]
    events = data.draw(strategy)
    end = b"\r\n" if crlf else b"\n"
    body = b"".join(e.replace(b"\n", end) + end + end for e in events)
    marks = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=6)))
    if cut:
        body = body[: data.draw(st.integers(0, len(body)))]
    marks = [m for m in marks if m <= len(body)]
    pieces = [body[a:b] for a, b in zip([0, *marks], [*marks, len(body)], strict=True)]

    by_runs, one_by_one = Tally(), Tally()
    fast, slow = make(by_runs), make(one_by_one)
    slow.marks = ()  # every event through ``event``
    assert fast.marks
    assert relayed(fast, pieces, cut) == relayed(slow, pieces, cut)
    assert by_runs.reported == one_by_one.reported
    assert orjson.dumps(fast.final) == orjson.dumps(slow.final)  # the response kept
    failure = UpstreamError("the upstream went away")
    assert fast.fail(failure) == slow.fail(failure)  # what a stream cut here ends with
    if not one_by_one.reported:  # the call is charged for the text it counted
        assert "".join(by_runs.counted) == "".join(one_by_one.counted)


def models(data: Any) -> list[Any]:
    """Every ``"model"`` value anywhere in a JSON value."""
    if isinstance(data, dict):
        found = [data["model"]] if "model" in data else []
        return found + [m for value in data.values() for m in models(value)]
    if isinstance(data, list):
        return [m for value in data for m in models(value)]
    return []


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(RELAYS)), data=st.data())
def test_the_client_sees_only_its_own_model(kind: str, data: st.DataObject) -> None:
    """Every event's model is the client's id, whatever the event: a running usage report
    (which is sent on as it came) included."""
    strategy, make = RELAYS[kind]
    body = b"".join(e + b"\n\n" for e in data.draw(strategy))
    sent = relayed(make(Tally()), [body], cut=False)
    payloads = [line[5:].strip() for line in sent.split(b"\n") if line.startswith(b"data:")]
    named = [m for p in payloads if p != b"[DONE]" for m in models(orjson.loads(p))]
    assert named and set(named) == {"m"}, named


def test_a_piece_with_its_own_usage_counts_nothing() -> None:
    """A whole stream in one read, its text past HOLD_BYTES: the usage at its end settles the
    call before the held text would be counted."""
    words = [f" word{i}" for i in range(HOLD_BYTES // 4)]
    chunks = [
        b"data: " + orjson.dumps({"model": "up", "choices": [{"delta": {"content": w}}]})
        for w in words
    ]
    usage = {"prompt_tokens": 3, "completion_tokens": len(words)}
    chunks.append(b"data: " + orjson.dumps({"model": "up", "choices": [], "usage": usage}))
    tally = Tally()
    relay = ChatRelay(tally, "m", "up", include_usage=True)
    sent = relay.feed(b"".join(c + b"\n\n" for c in chunks) + b"data: [DONE]\n\n")
    relay.drain()
    assert tally.counted == []
    assert tally.reported == [Usage(input_tokens=3, output_tokens=len(words))]
    assert sent.count(b'"model":"m"') == len(chunks) and b'"up"' not in sent
    assert sent.endswith(b"data: [DONE]\n\n")


def test_held_payloads_are_read_as_one_array_or_one_by_one() -> None:
    """The held payloads' text is read in one parse; a payload that is not one JSON value (not
    JSON, or two values) sends them through one by one, and it alone reads as no text."""
    relay = ChatRelay(Tally(), "m", "up", include_usage=True)
    good = orjson.dumps({"choices": [{"delta": {"content": "Hi"}}]})
    two = b'{"choices": [{"delta": {"content": "x"}}]}, {"choices": [{"delta": {"content": "y"}}]}'
    run = Run(b"data: " + good + b"\n\n: keep-alive\n\nevent: e\ndata: " + good + b"\n\n")
    assert relay.held_text([good, run, good]) == "HiHiHiHi"
    assert relay.held_text([good, b"oops", good]) == "HiHi"
    assert relay.held_text([good, two]) == "Hi"
    assert relay.held_text([Run(b": keep-alive\n\n")]) == ""


def test_a_cut_chat_stream_counts_reasoning_and_content() -> None:
    """A delta that carries reasoning and content is counted for both, as a whole answer is."""
    tally = Tally()
    relay = ChatRelay(tally, "m", "up", include_usage=True)
    delta = {"reasoning_content": "Think.", "content": "Say."}
    relay.feed(b"data: " + orjson.dumps({"choices": [{"delta": delta}]}) + b"\n\n")
    relay.drain()  # cut
    assert tally.counted == ["Think.Say."]


def test_a_cut_run_is_counted_from_its_events() -> None:
    tally = Tally()
    relay = ResponsesRelay(tally, "m", "up")
    deltas = [
        b"event: response.output_text.delta\ndata: "
        + orjson.dumps({"type": "response.output_text.delta", "delta": word})
        for word in ("Hello", " there")
    ]
    relay.feed(b"".join(d + b"\n\n" for d in deltas))
    assert tally.counted == []  # held, not parsed
    relay.drain()  # the stream was cut
    assert tally.counted == ["Hello there"]


def test_a_failed_responses_stream_names_the_response_and_numbers_on() -> None:
    """The ``response.failed`` event that ends a broken stream carries the upstream's response
    id (from ``response.created``) and the sequence number after the last event sent."""
    relay = ResponsesRelay(Tally(), "m", "up")
    created = {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_9"}}
    delta = {"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hi"}
    sent = b"".join(
        relay.feed(b"event: " + str(e["type"]).encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n")
        for e in (created, delta)
    )
    assert sent.count(b"\n\n") == 2
    failed = orjson.loads(relay.fail(UpstreamError("gone")).split(b"data: ", 1)[1])
    assert failed["type"] == "response.failed"
    assert failed["sequence_number"] == 2
    assert failed["response"]["id"] == "resp_9"
    assert failed["response"]["status"] == "failed"
    fresh = orjson.loads(ResponsesRelay(Tally(), "m", "up").fail(UpstreamError("x"))[29:])
    assert fresh["sequence_number"] == 0 and fresh["response"]["id"] == ""


def gemini_chunk(text: str, usage: Any = None, finish: bool = False, spaced: bool = False) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = "STOP"
    chunk: dict[str, Any] = {"candidates": [candidate]}
    if usage is not False:
        chunk["usageMetadata"] = usage
    return b"data: " + dumps(chunk, spaced) + b"\r\n\r\n"


def usage_meta(prompt: int, output: int) -> dict[str, int]:
    return {"promptTokenCount": prompt, "candidatesTokenCount": output}


@pytest.mark.parametrize("spaced", [False, True])
def test_gemini_usage_is_the_last_chunks_however_it_ends(spaced: bool) -> None:
    """Gemini sends usage on every chunk; only the last before the finish (or the end) counts,
    so only that one is parsed — and a later chunk without a usable one does not lose it."""
    cases = [
        # (chunks, the usage charged)
        ([("a", usage_meta(3, 1), False), ("b", usage_meta(3, 2), True)], (3, 2)),
        ([("a", usage_meta(3, 1), False), ("b", False, True)], (3, 1)),  # finish, no usage
        ([("a", usage_meta(3, 1), False), ("b", usage_meta(3, 2), False)], (3, 2)),  # cut
        ([("a", usage_meta(3, 1), False), ("b", None, False)], (3, 1)),  # a null after it
        ([("a", usage_meta(3, 1), False), ("b", None, True)], (3, 1)),
    ]
    for chunks, (prompt, output) in cases:
        for array in (False, True):
            tally = Tally()
            relay = GeminiRelay(tally, array)
            sent = b"".join(relay.feed(gemini_chunk(t, u, f, spaced)) for t, u, f in chunks)
            finished = chunks[-1][2]
            assert len(tally.reported) == finished  # settled at the finish, before the end
            sent += relay.close()
            relay.drain()
            assert tally.reported == [Usage(input_tokens=prompt, output_tokens=output)], chunks
            assert tally.counted == []
            if array:
                assert len(orjson.loads(sent)) == len(chunks)


def test_a_gemini_stream_cut_before_any_usage_counts_its_text() -> None:
    tally = Tally()
    relay = GeminiRelay(tally, False)
    for word in ("Hello", " there"):
        relay.feed(gemini_chunk(word, False))
    relay.drain()
    assert tally.reported == [] and "".join(tally.counted) == "Hello there"


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.sampled_from(["model", "id", "xmodel", "text"]), st.sampled_from(["up", "u", "x"])
        ),
        max_size=8,
    ),
    spaced=st.booleans(),
    upstream=st.sampled_from(["up", 'u"p', "gpt-4o"]),  # model ids are ASCII
)
def test_the_model_is_renamed_only_where_it_is_the_model(
    values: list[tuple[str, str]], spaced: bool, upstream: str
) -> None:
    """Every ``"model":`` that is the upstream's id becomes the client's, spelled with a space
    or none; the same string under any other key, or inside another string, stays."""
    from patchbay.providers.native.relay import Rename, renamer

    data = [{key: upstream if value == "up" else value} for key, value in values]
    data.append({"text": f'say "model":"{upstream}"'})
    payload = dumps(data, spaced)
    renamed = Rename(upstream, "mine")(payload)
    expected = [
        {key: "mine" if key == "model" and value == upstream else value}
        for item in data
        for key, value in item.items()
    ]
    assert orjson.loads(renamed) == expected
    assert renamer(upstream, upstream)(payload) is payload


def test_a_relay_keeps_little_for_its_stream_life() -> None:
    """What a relay keeps from its start is a few hundred bytes: 1,000 concurrent streams must
    not hold megabytes (orjson's output alone holds a 4 KiB buffer, however short)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        relays = [ChatRelay(Tally(), f"model-{i}", "upstream-model", True) for i in range(200)]
        relays += [ResponsesRelay(Tally(), f"model-{i}", "upstream-model") for i in range(200)]
        relays += [AnthropicRelay(Tally(), f"model-{i}", "upstream-model") for i in range(200)]
        per_relay = (tracemalloc.get_traced_memory()[0] - before) / len(relays)
    finally:
        tracemalloc.stop()
    assert per_relay < 1024, per_relay
