"""Property tests: generated requests, answers and streams survive the trip through each
protocol's wire form (upstream adapter one way, client codec the other) without losing text,
images, tool calls or usage."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchbay.domain.assemble import Assembler
from patchbay.domain.events import (
    Finish,
    Start,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from patchbay.domain.messages import ImagePart, Message, TextPart, ToolCall, ToolResult
from patchbay.domain.requests import ChatRequest, ToolDefinition
from patchbay.domain.responses import ChatResponse
from patchbay.domain.usage import Usage
from patchbay.protocols.anthropic_messages import decode as a_decode
from patchbay.protocols.anthropic_messages import encode as a_encode
from patchbay.protocols.anthropic_messages import stream as a_stream
from patchbay.protocols.gemini import decode as g_decode
from patchbay.protocols.gemini import encode as g_encode
from patchbay.protocols.gemini import stream as g_stream
from patchbay.protocols.openai_chat import decode as c_decode
from patchbay.protocols.openai_chat import encode as c_encode
from patchbay.protocols.openai_chat import stream as c_stream
from patchbay.protocols.openai_responses import decode as r_decode
from patchbay.protocols.openai_responses import encode as r_encode
from patchbay.protocols.openai_responses import stream as r_stream
from patchbay.providers import anthropic, gemini, openai_chat, openai_responses


@dataclass
class Wire:
    name: str
    provider: Any
    decode: Any
    encode: Any
    stream: Any
    reasoning_usage: bool = True  # Anthropic reports thinking tokens inside output_tokens only


WIRES = [
    Wire("chat", openai_chat, c_decode.decode_request, c_encode.encode_response, c_stream),
    Wire(
        "responses", openai_responses, r_decode.decode_request, r_encode.encode_response, r_stream
    ),
    Wire(
        "anthropic",
        anthropic,
        a_decode.decode_request,
        a_encode.encode_response,
        a_stream,
        reasoning_usage=False,
    ),
    Wire("gemini", gemini, g_decode.decode_request, g_encode.encode_response, g_stream),
]
words = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
args = st.dictionaries(names, st.one_of(st.integers(-1000, 1000), words), max_size=3)
usages = st.builds(
    lambda i, o, c, r: Usage(i + c, o + r, c, r),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**5),
    st.integers(0, 10**5),
)


@st.composite
def conversations(draw: Any) -> ChatRequest:
    tool = draw(names)
    call_args = draw(args)
    messages = [Message("user", (TextPart(draw(words)),))]
    if draw(st.booleans()):
        messages.append(
            Message(
                "user",
                (ImagePart(data="iVBORw0KGgo=", media_type="image/png"), TextPart(draw(words))),
            )
        )
    if draw(st.booleans()):
        call = ToolCall("call_0_" + tool, tool, orjson.dumps(call_args).decode())
        messages += [
            Message("assistant", (call,)),
            Message("tool", (ToolResult(call.id, (TextPart(draw(words)),), name=tool),)),
            Message("assistant", (TextPart(draw(words)),)),
            Message("user", (TextPart(draw(words)),)),
        ]
    return ChatRequest(
        model="m",
        messages=tuple(messages),
        system=(TextPart(draw(words)),),
        tools=(ToolDefinition(tool, "a tool", {"type": "object"}),),
        max_output_tokens=draw(st.integers(1, 10000)),
    )


def flatten(messages: tuple[Message, ...]) -> list[tuple[str, Any]]:
    """What must survive: text, images, calls (name + parsed args) and results, in order."""
    out: list[tuple[str, Any]] = []
    for m in messages:
        for p in m.parts:
            if isinstance(p, TextPart):
                out.append(("text", p.text))
            elif isinstance(p, ImagePart):
                out.append(("image", p.data or p.url))
            elif isinstance(p, ToolCall):
                out.append(("call", (p.name, orjson.loads(p.arguments or "{}"))))
            elif isinstance(p, ToolResult):
                out.append(
                    ("result", "".join(x.text for x in p.content if isinstance(x, TextPart)))
                )
    return out


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_requests_survive_every_wire(req: ChatRequest) -> None:
    for wire in WIRES:
        body = orjson.loads(
            orjson.dumps(wire.provider.build_request(req, upstream_model="m", stream=False))
        )
        back = wire.decode(body, model="m")
        assert flatten(back.messages) == flatten(req.messages), wire.name
        assert "".join(p.text for p in back.system) == req.system[0].text, wire.name
        assert [t.name for t in back.tools] == [t.name for t in req.tools], wire.name
        assert back.max_output_tokens == req.max_output_tokens, wire.name


@st.composite
def answers(draw: Any) -> ChatResponse:
    parts: list[Any] = [TextPart(draw(words))]
    finish = "stop"
    if draw(st.booleans()):
        parts.append(ToolCall("call_0_x", draw(names), orjson.dumps(draw(args)).decode()))
        finish = "tool_calls"
    return ChatResponse(
        id="r1",
        model="m",
        message=Message("assistant", tuple(parts)),
        finish_reason=finish,
        usage=draw(usages),
    )  # type: ignore[arg-type]


def essentials(resp: ChatResponse, wire: Wire) -> tuple[Any, ...]:
    calls = [(c.name, orjson.loads(c.arguments)) for c in resp.message.tool_calls()]
    usage = resp.usage if wire.reasoning_usage else replace(resp.usage, reasoning_tokens=0)
    return resp.message.text(), calls, usage, resp.finish_reason


@settings(max_examples=60)
@given(answers())
def test_answers_survive_every_wire(resp: ChatResponse) -> None:
    for wire in WIRES:
        wire_form = orjson.loads(orjson.dumps(wire.encode(resp)))
        got = wire.provider.parse_response(wire_form)
        assert essentials(got, wire) == essentials(resp, wire), wire.name


def events_of(resp: ChatResponse, pieces: int) -> list[Any]:
    text = resp.message.text()
    step = max(1, len(text) // pieces)
    events: list[Any] = [Start("r1", "m")]
    events += [TextDelta(text[i : i + step]) for i in range(0, len(text), step)]
    for index, call in enumerate(resp.message.tool_calls()):
        events.append(ToolCallStart(index, call.id, call.name))
        half = len(call.arguments) // 2
        events += [
            ToolCallDelta(index, call.arguments[:half]),
            ToolCallDelta(index, call.arguments[half:]),
        ]
    return [*events, UsageReport(resp.usage), Finish(resp.finish_reason)]


@settings(max_examples=60)
@given(answers(), st.integers(1, 5), st.integers(1, 40))
def test_streams_survive_every_wire(resp: ChatResponse, pieces: int, cut: int) -> None:
    for wire in WIRES:
        encoder = wire.stream.StreamEncoder(model="m")
        data = b"".join(encoder.encode(e) for e in events_of(resp, pieces))
        parser = wire.provider.StreamParser()
        assembler = Assembler()
        for i in range(0, len(data), cut):  # arbitrary network chunk boundaries
            for event in parser.feed(data[i : i + cut]):
                assembler.add(event)
        for event in parser.close():
            assembler.add(event)
        assert essentials(assembler.response(), wire) == essentials(resp, wire), wire.name
