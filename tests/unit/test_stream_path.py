"""The stream path's own mechanics: the server protocol writing a response's head with its
first body bytes, and relays holding text back until it must be counted."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from patchbay.accounting import bpe
from patchbay.asgi import coalescing
from patchbay.domain.usage import Usage
from patchbay.providers.native.anthropic import AnthropicRelay
from patchbay.providers.native.openai_chat import ChatRelay
from patchbay.providers.native.relay import HOLD_BYTES, HOLD_CHARS
from tests.unit.tallies import Tally


class Wire:
    """The transport uvicorn writes to: every write kept apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return None


class Flow:
    write_paused = False

    async def drain(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


def cycle(wire: Wire) -> coalescing.CoalescingCycle:
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    made = RequestResponseCycle(
        scope={"type": "http", "method": "POST", "http_version": "1.1", "path": "/"},
        transport=wire,  # type: ignore[arg-type]
        flow=Flow(),  # type: ignore[arg-type]
        logger=None,  # type: ignore[arg-type]
        access_logger=None,  # type: ignore[arg-type]
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    made.__class__ = coalescing.CoalescingCycle
    return made  # type: ignore[return-value]


def start(sized: bytes | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if sized is not None:
        headers.append((b"content-length", str(len(sized)).encode()))
    return {"type": "http.response.start", "status": 200, "headers": headers}


def test_a_whole_answer_is_one_write() -> None:
    async def run() -> Wire:
        wire = Wire()
        c = cycle(wire)
        body = b'{"ok":true}'
        await c.send(start(body))
        assert wire.writes == []  # the head waits for the body
        await c.send({"type": "http.response.body", "body": body})
        return wire

    wire = asyncio.run(run())
    assert len(wire.writes) == 1
    assert wire.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert wire.writes[0].endswith(b'\r\n\r\n{"ok":true}')


def test_a_stream_head_goes_with_its_first_chunk_or_alone_after_the_wait() -> None:
    async def run(delay: float) -> Wire:
        wire = Wire()
        c = cycle(wire)
        await c.send(start(None))
        await asyncio.sleep(delay)
        await c.send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await c.send({"type": "http.response.body", "body": b"", "more_body": False})
        return wire

    fast = asyncio.run(run(0))
    assert len(fast.writes) == 2  # head + first chunk, then the end of the body
    assert b"transfer-encoding: chunked" in fast.writes[0]
    assert fast.writes[0].endswith(b"\r\n\r\n9\r\ndata: 1\n\n\r\n")
    assert fast.writes[1] == b"0\r\n\r\n"
    slow = asyncio.run(run(coalescing.STREAM_HEAD_WAIT_S * 3))
    assert len(slow.writes) == 3  # the head alone once the wait ran out
    assert slow.writes[0].endswith(b"\r\n\r\n")
    assert slow.writes[1] == b"9\r\ndata: 1\n\n\r\n"


def test_an_unsent_head_is_replaced_by_a_later_error() -> None:
    async def run() -> Wire:
        wire = Wire()
        c = cycle(wire)
        await c.send(start(b"x"))
        await c.send_500_response()  # what uvicorn does when the app fails before its body
        return wire

    wire = asyncio.run(run())
    assert len(wire.writes) == 1
    assert wire.writes[0].startswith(b"HTTP/1.1 500 ")
    assert wire.writes[0].endswith(b"Internal Server Error")


def chat_chunk(text: str, usage: dict[str, int] | None = None) -> bytes:
    data: dict[str, Any] = {
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    if usage is not None:
        data["choices"] = []
        data["usage"] = usage
    return b"data: " + orjson.dumps(data) + b"\n\n"


def test_text_is_counted_only_when_the_usage_never_comes() -> None:
    words = [f" word{i}" for i in range(400)]
    reported = Tally()
    relay = ChatRelay(reported, "m", "m", include_usage=True)
    sent = b"".join(relay.feed(chat_chunk(w)) for w in words)
    sent += relay.feed(chat_chunk("", {"prompt_tokens": 3, "completion_tokens": 400}))
    relay.close()
    relay.drain()
    assert sent.count(b"data: ") == 401
    # the payloads passed HOLD_BYTES, their text (under HOLD_CHARS) was held: never counted
    assert len(b"".join(chat_chunk(w) for w in words)) > 10 * HOLD_BYTES
    assert len("".join(words)) < HOLD_CHARS
    assert reported.reported and reported.reported[0].output_tokens == 400
    assert reported.counted == []

    words = [f" word{i}" for i in range(2000)]  # more text than HOLD_CHARS
    cut = Tally()
    relay = ChatRelay(cut, "m", "m", include_usage=True)
    for w in words:
        relay.feed(chat_chunk(w))
        assert relay.held_bytes <= HOLD_BYTES and len(relay.text) <= HOLD_CHARS  # flat
    relay.drain()  # the stream was cut: everything it produced is counted
    assert cut.reported == []
    assert "".join(cut.counted) == "".join(words)
    assert len(cut.counted) >= len("".join(words)) // (HOLD_CHARS + HOLD_BYTES)  # as it filled
    assert len(cut.counted) < len(words) // 100  # in batches, not per chunk
    assert sum(bpe.count(t) for t in cut.counted) >= 2000


def test_anthropic_deltas_held_then_counted_on_a_cut() -> None:
    tally = Tally()
    relay = AnthropicRelay(tally, "m", "m")
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}
    for word in ("Hello", " there"):
        delta["delta"]["text"] = word  # type: ignore[index]
        relay.feed(b"event: content_block_delta\ndata: " + orjson.dumps(delta) + b"\n\n")
    assert tally.counted == []  # nothing parsed while the stream runs
    relay.drain()
    assert tally.counted == ["Hello there"]


def test_a_streams_last_chunk_carries_the_end_of_the_body() -> None:
    from patchbay.asgi.sse import LastChunk, SSEResponse

    async def body() -> Any:
        yield b"data: 1\n\n"
        yield LastChunk(b"data: [DONE]\n\n")
        raise AssertionError("nothing is read after the last chunk")

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(10)
            return {"type": "http.disconnect"}

        await SSEResponse(body())({"type": "http"}, receive, send)
        return sent

    sent = asyncio.run(run())
    assert [m.get("more_body") for m in sent[1:]] == [True, False]
    assert sent[-1]["body"] == b"data: [DONE]\n\n"


async def slow_source(closed: list[bool]) -> Any:
    """A stream's source whose upstream takes its time after the first chunk; notes its close."""
    try:
        yield b"data: 1\n\n"
        await asyncio.sleep(10)
        yield b"data: 2\n\n"
    finally:
        closed.append(True)


def test_a_client_gone_mid_stream_closes_the_source() -> None:
    from patchbay.asgi.sse import SSEResponse

    closed: list[bool] = []

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(0.05)
            return {"type": "http.disconnect"}

        await asyncio.wait_for(SSEResponse(slow_source(closed))({"type": "http"}, receive, send), 2)
        return sent

    sent = asyncio.run(run())
    assert closed == [True]
    assert len(sent) == 2  # the head and the first chunk; nothing after the client left


def test_a_translated_stream_writes_each_upstream_chunk_once() -> None:
    """A translated stream's events are encoded per upstream chunk: one body piece for each
    chunk, the last one (the upstream's body complete) sent with the end of the body."""
    from types import SimpleNamespace

    from patchbay.asgi.sse import LastChunk
    from patchbay.protocols.anthropic_messages.stream import StreamEncoder
    from patchbay.providers.openai_chat import OpenAIChatAdapter
    from patchbay.proxy.translated import encode_events
    from patchbay.upstream.answers import UpstreamStream

    first = b"data: " + orjson.dumps({
        "id": "c1", "object": "chat.completion.chunk", "model": "m", "created": 1,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
    }) + b"\n\n" + chat_chunk("lo")  # fmt: skip
    last = (
        chat_chunk(" there")
        + chat_chunk("", {"prompt_tokens": 3, "completion_tokens": 2})
        + b"data: [DONE]\n\n"
    )
    state = {"eof": False}

    async def chunks() -> Any:
        yield first
        state["eof"] = True
        yield last

    upstream = UpstreamStream(200, "text/event-stream", b"", chunks(), at_eof=lambda: state["eof"])
    call = SimpleNamespace(usage=None, streamed_tokens=0, cost_usd=None, cost_points=None)
    settled: list[Usage | None] = []

    async def run() -> list[bytes]:
        events = OpenAIChatAdapter()._events(upstream, "p")
        encoder = StreamEncoder(model="m")
        body = encode_events(call, events, encoder, lambda c: settled.append(c.usage), None)  # type: ignore[arg-type]
        return [piece async for piece in body]

    pieces = asyncio.run(run())
    assert len(pieces) == 2, pieces
    assert pieces[0].__class__ is not LastChunk and pieces[1].__class__ is LastChunk
    assert pieces[0].startswith(b"event: message_start")
    assert pieces[0].count(b"event: content_block_delta") == 2
    assert b'"Hel"' in pieces[0] and b'"lo"' in pieces[0]
    assert b'" there"' in pieces[1] and pieces[1].endswith(b'{"type":"message_stop"}\n\n')
    assert settled and settled[-1] == Usage(input_tokens=3, output_tokens=2)


_SSE_LINES = st.sampled_from(
    ["data: ", "data:", "event: ", "event:", ": ", "id: ", "", "data: [DONE]", "event: ping"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_SSE_LINES, st.text(max_size=12)), min_size=1, max_size=4))
def test_sse_blocks_read_the_same_on_the_fast_path(lines: list[tuple[str, str]]) -> None:
    """The one-data-line shapes are read by a fast path; any block reads as the general
    line-by-line reader reads it."""
    from patchbay.protocols.sse import SSEParser

    block = "\n".join(prefix + text.replace("\n", " ").replace("\r", " ") for prefix, text in lines)
    raw = block.encode()
    assert SSEParser._parse(raw) == SSEParser._general(raw)
    whole = raw + b"\n\n"  # the blocks ``payloads`` reads are the ones ``feed`` reads
    assert SSEParser().payloads(whole) == [e.data.encode() for e in SSEParser().feed(whole)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_SSE_LINES, st.text(max_size=12)), min_size=1, max_size=12),
    st.lists(st.integers(0, 400), max_size=5),
    st.booleans(),
)
def test_sse_payloads_are_the_events_data_however_cut(
    lines: list[tuple[str, str]], cuts: list[int], crlf: bool
) -> None:
    """Upstream parsers read the data alone, undecoded: as ``feed`` reads it, event by event."""
    from patchbay.protocols.sse import SSEParser

    end = "\r\n" if crlf else "\n"
    text = "".join(
        p + t.replace("\n", " ").replace("\r", " ") + end * (1 + i % 2)
        for i, (p, t) in enumerate(lines)
    )
    raw = text.encode()
    marks = sorted(c for c in cuts if c <= len(raw))
    pieces = [raw[a:b] for a, b in zip([0, *marks], [*marks, len(raw)], strict=True)]
    events, data = SSEParser(), SSEParser()
    expected = [e.data.encode() for piece in pieces for e in events.feed(piece)]
    expected += [e.data.encode() for e in events.close()]
    got = [p for piece in pieces for p in data.payloads(piece)] + data.close_payloads()
    assert got == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_SSE_LINES, st.text(max_size=12)), min_size=1, max_size=4))
def test_relay_event_data_reads_the_same_on_its_fast_paths(lines: list[tuple[str, str]]) -> None:
    from patchbay.providers.native.relay import all_data, event_data

    block = "\n".join(prefix + text.replace("\n", " ").replace("\r", " ") for prefix, text in lines)
    raw = block.encode()
    assert event_data(raw) == all_data(raw)


def test_sse_fast_path_shapes() -> None:
    from patchbay.protocols.sse import SSEEvent, SSEParser

    assert SSEParser._parse(b'data: {"a":1}') == SSEEvent(None, '{"a":1}')
    assert SSEParser._parse(b"event: ping\ndata: {}") == SSEEvent("ping", "{}")
    assert SSEParser._parse(b"event: x\ndata: a\ndata: b") == SSEEvent("x", "a\nb")
    assert SSEParser._parse(b": comment") is None


def test_a_buffered_body_is_read_without_a_timer_and_a_late_one_times_out() -> None:
    from patchbay.asgi import receiving

    async def run() -> None:
        wire = Wire()
        c = cycle(wire)
        c.body, c.more_body = b'{"a":1}', False
        assert not receiving.buffered(c.receive)  # nothing has arrived yet
        c.message_event.set()  # what uvicorn's on_body does
        assert receiving.buffered(c.receive)
        loop = asyncio.get_running_loop()
        message = await receiving.receive_by(c.receive, loop.time() - 1)  # past: no wait needed
        assert message == {"type": "http.request", "body": b'{"a":1}', "more_body": False}

        async def never() -> Any:
            await asyncio.sleep(10)

        assert not receiving.buffered(never)
        try:
            await receiving.receive_by(never, loop.time() + 0.05)
        except TimeoutError:
            return
        raise AssertionError("a read that waits past its deadline times out")

    asyncio.run(run())


def test_our_server_protocol_cancels_a_stream_whose_client_left() -> None:
    """Under the server protocol, a stream waiting on its upstream learns of its client's
    disconnect from the protocol (no watcher task): its source is closed at once."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from patchbay.asgi.coalescing import CoalescingProtocol
    from patchbay.asgi.sse import SSEResponse

    closed: list[bool] = []
    tasks: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        tasks.append(len(asyncio.all_tasks()))
        await SSEResponse(slow_source(closed))(scope, receive, send)

    async def run() -> Wire:
        config = Config(app=app, lifespan="off", log_config=None)
        protocol = CoalescingProtocol(config, ServerState(), {}, asyncio.get_running_loop())
        wire = Wire()
        protocol.connection_made(wire)  # type: ignore[arg-type]
        protocol.data_received(b"POST /s HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0.01)
            if wire.writes:
                break
        running = len(asyncio.all_tasks())
        assert running == tasks[0], "a stream runs in its request's task alone"
        protocol.connection_lost(None)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if closed:
                break
        return wire

    wire = asyncio.run(asyncio.wait_for(run(), 5))
    assert closed == [True]
    assert b"data: 1" in b"".join(wire.writes) and b"data: 2" not in b"".join(wire.writes)


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    from patchbay.protocols.sse import SSEEvent, SSEParser

    parser = SSEParser()
    assert parser.feed(b"event: x\r\ndata: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r") == []
    assert parser.feed(b"\n") == [SSEEvent("x", "a\nb")]
    assert parser.feed(b"data: c\r\r") == []  # CR line ends: the event ends with the next byte
    assert parser.close() == [SSEEvent(None, "c")]
    whole = SSEParser()
    raw = b"data: 1\r\n\r\ndata: 2\r\n\r\n"
    assert [e for i in range(len(raw)) for e in whole.feed(raw[i : i + 1])] == [
        SSEEvent(None, "1"),
        SSEEvent(None, "2"),
    ]


def test_a_responses_stream_is_charged_with_or_without_event_names() -> None:
    """OpenAI names every Responses event (``event: response.completed``); other servers send
    data lines only. Either way the final event is found, charged, and its cost added."""
    from patchbay.providers.native.openai_responses import ResponsesRelay

    usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "model": "up"}},
        {"type": "response.output_text.delta", "delta": "hi"},
        {"type": "response.completed", "response": {"id": "resp_1", "model": "up", "usage": usage}},
    ]
    for named in (True, False):
        tally = Tally()
        relay = ResponsesRelay(tally, "m", "up")
        sent = b""
        for event in events:
            head = b"event: " + str(event["type"]).encode() + b"\n" if named else b""
            sent += relay.feed(head + b"data: " + orjson.dumps(event) + b"\n\n")
        assert tally.reported == [Usage(input_tokens=3, output_tokens=2)], named
        assert relay.response_id == "resp_1"
        final = orjson.loads(sent.rsplit(b"data: ", 1)[1])
        assert final["response"]["usage"]["cost_points"] == 10
        assert final["response"]["model"] == "m"
