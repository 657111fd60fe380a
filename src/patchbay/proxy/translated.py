"""Translated calls: client protocol → canonical request → the route's adapter → canonical
answer or events → the client protocol's encoder, metering the events as they pass."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import replace

from patchbay.accounting import bpe
from patchbay.asgi.replies import Reply, json_reply
from patchbay.asgi.sse import LastChunk, SSEResponse
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.events import (
    LastEvents,
    StreamError,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from patchbay.domain.messages import ReasoningPart, TextPart, ToolCall
from patchbay.domain.responses import ChatResponse
from patchbay.domain.tools import ToolMap
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.metering.call import Call
from patchbay.protocols.base import StreamEncoder
from patchbay.protocols.openai_usage import add_cost
from patchbay.providers.base import Adapter, Transport
from patchbay.proxy.inbound import Inbound, Keep

HOLD_CHARS = 1024  # a stream's text held back, at most, before it is counted anyway

Settle = Callable[[Call], None]


async def serve(
    transport: Transport,
    settle: Settle,
    call: Call,
    route: RouteEntry,
    kind: Adapter,
    inbound: Inbound,
) -> Reply:
    request = inbound.canonical()
    edge = inbound.edge
    tools = ToolMap(request.tools)  # calls given back in the client's own terms
    if call.stream:
        events = await kind.stream(transport, route, request)
        if tools.needed:
            events = _restored(events, tools)
        encoder = edge.stream_encoder(model=call.model.id)
        return SSEResponse(
            encode_events(call, events, encoder, settle, inbound.keep),
            media_type=inbound.stream_media_type,
        )
    answer = tools.answer(await kind.complete(transport, route, request))
    call.usage = answer.usage if answer.usage.reported else _counted(inbound, answer)
    settle(call)
    data = edge.encode(replace(answer, model=call.model.id))
    if edge.with_cost and isinstance(data.get("usage"), dict):
        add_cost(data["usage"], call.cost_usd, call.cost_points)
    if inbound.keep is not None:
        await inbound.keep(data)
    return json_reply(data)


async def _restored(
    batches: AsyncIterator[list[StreamEvent]], tools: ToolMap
) -> AsyncGenerator[list[StreamEvent], None]:
    try:
        async for batch in batches:
            restored = [out for event in batch for out in tools.event(event)]
            yield LastEvents(restored) if batch.__class__ is LastEvents else restored
    finally:
        await batches.aclose()  # type: ignore[attr-defined]


def _counted(inbound: Inbound, answer: ChatResponse) -> Usage:
    """The usage of an answer that reported none, counted by the gateway."""
    produced = "".join(
        p.text if isinstance(p, TextPart | ReasoningPart) else p.arguments
        for p in answer.message.parts
        if isinstance(p, TextPart | ReasoningPart | ToolCall)
    )
    return Usage(bpe.count_json(inbound.body), bpe.count(produced), estimated=True)


async def encode_events(
    call: Call,
    events: AsyncIterator[list[StreamEvent]],
    encoder: StreamEncoder,
    settle: Settle,
    keep: Keep | None,
) -> AsyncGenerator[bytes, None]:
    """Encode canonical events for the client, metering them as they pass: each batch (one
    upstream chunk's events) as one piece of the body, the last batch with the body's end.

    Text and tool arguments are held (at most ``HOLD_CHARS``, counted whenever that fills) and
    counted only if the stream ends without the upstream's usage, as the relays do."""
    encode = encoder.encode
    held: list[str] = []
    size = 0
    try:
        async for batch in events:
            out = []
            for event in batch:
                if type(event) is UsageReport:  # the exact classes: events are final
                    call.usage = event.usage
                    settle(call)
                    held, size = [], 0
                    event = UsageReport(event.usage, call.cost_usd, call.cost_points)
                elif call.usage is None and isinstance(event, (TextDelta, ToolCallDelta)):
                    text = event.text if isinstance(event, TextDelta) else event.arguments
                    held.append(text)
                    size += len(text)
                    if size > HOLD_CHARS:
                        call.streamed_tokens += bpe.count("".join(held))
                        held, size = [], 0
                out.append(encode(event))
                if encoder.final is not None and keep is not None:
                    final, encoder.final = encoder.final, None
                    await keep(final)
            if batch.__class__ is LastEvents:
                yield LastChunk(b"".join(out))  # nothing follows: sent with the body's end
                return
            if out:
                yield b"".join(out)
    except GatewayError as exc:
        yield encode(StreamError(exc.status, exc.message, exc.kind))
    finally:
        if held and call.usage is None:
            call.streamed_tokens += bpe.count("".join(held))
        settle(call)
        await events.aclose()  # type: ignore[attr-defined]
