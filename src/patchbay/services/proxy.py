"""The request path after authentication: route, attempt with failover, relay, meter.

Same-protocol calls take the fast path (``openai_passthrough``); every other combination goes
client codec → canonical request → upstream adapter → canonical events → client codec. Metering
hooks in at two points: ``Meter.admit`` before any upstream work, and ``Meter.settle`` as soon as
usage is known and again on every exit (it is idempotent).
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from patchbay.accounting.tokens import count_text
from patchbay.api.http import Reply, json_response
from patchbay.api.sse import SSEResponse
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.assemble import assemble
from patchbay.domain.events import StreamError, StreamEvent, TextDelta, ToolCallDelta, UsageReport
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.errors import GatewayError, UpstreamError
from patchbay.protocols.openai_chat import decode as chat_decode
from patchbay.protocols.openai_chat import encode as chat_encode
from patchbay.protocols.openai_chat import stream as chat_stream
from patchbay.routing.balancer import order_routes
from patchbay.services import openai_passthrough as passthrough
from patchbay.services import upstream_events
from patchbay.services.calls import Call
from patchbay.services.meter import Meter
from patchbay.services.usage_fields import add_cost
from patchbay.upstream.client import UpstreamClient
from patchbay.upstream.errors import is_retryable

Attempt = Callable[[RouteEntry], Awaitable[Reply]]


@dataclass
class Edge:
    """How one client protocol renders answers: whole, as a stream, and what it keeps after."""

    encode: Callable[[ChatResponse], dict[str, Any]]
    stream_encoder: Callable[[str], Any]
    with_cost: bool = False  # OpenAI-shape answers carry usage.cost and usage.cost_points
    stream_media_type: str | None = None
    on_answer: Callable[[ChatResponse, dict[str, Any]], None] | None = None


class Proxy:
    def __init__(self, client: UpstreamClient, meter: Meter, rng: random.Random | None = None):
        self.client = client
        self.meter = meter
        self.rng = rng or random.Random()

    def _routes(self, call: Call) -> list[RouteEntry]:
        """The model's routes in balancer order (the failover order); none is an error."""
        routes = order_routes(call.model.routes, self.rng)
        if not routes:
            raise UpstreamError(f"model '{call.model.id}' has no available upstream")
        return routes

    async def with_failover(self, call: Call, attempt: Attempt) -> Reply:
        """Try the model's routes in balancer order until one starts answering."""
        routes = self._routes(call)
        error: GatewayError | None = None
        for route in routes:
            call.route = route
            try:
                return await attempt(route)
            except GatewayError as exc:
                if not is_retryable(exc):
                    raise
                error = exc
        assert error is not None
        raise error

    async def chat_completions(self, call: Call, body: dict[str, Any]) -> Reply:
        """Chat Completions, with the failover loop inline: this is the busiest path, and every
        coroutine layer on it is paid again at each of the upstream call's suspensions."""
        routes = self._routes(call)
        last = len(routes) - 1
        for index, route in enumerate(routes):
            call.route = route
            try:
                if route.provider.kind != "openai":
                    return await self._chat_translated(call, route, body)
                if not call.stream:
                    return await passthrough.complete(self.client, self.meter, call, route, body)
                return await self._chat_stream(call, route, body)
            except GatewayError as exc:
                if index == last or not is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    async def _chat_stream(self, call: Call, route: RouteEntry, body: dict[str, Any]) -> Reply:
        chunks = await passthrough.open_stream(self.client, call, route, body)
        options = body.get("stream_options")
        include = isinstance(options, dict) and options.get("include_usage") is True
        relay = passthrough.ChatStreamRelay(self.meter, call, route, include)
        return SSEResponse(self._relay(call, chunks, relay))

    async def _relay(
        self, call: Call, chunks: AsyncIterator[Any], relay: passthrough.ChatStreamRelay
    ) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in chunks:
                out = relay.feed(chunk)
                if out:
                    yield out
        except GatewayError as exc:
            yield chat_stream.StreamEncoder(model=call.model.id).encode(
                StreamError(exc.status, exc.message, exc.kind)
            )
        finally:
            self.meter.settle(call)
            await chunks.aclose()  # type: ignore[attr-defined]

    async def _chat_translated(self, call: Call, route: RouteEntry, body: dict[str, Any]) -> Reply:
        options = body.get("stream_options")
        include = isinstance(options, dict) and options.get("include_usage") is True
        edge = Edge(
            chat_encode.encode_response,
            lambda model: chat_stream.StreamEncoder(model=model, include_usage=include),
            with_cost=True,
        )
        return await self.translated(call, route, chat_decode.decode_request(body), edge)

    async def translate(self, call: Call, request: ChatRequest, edge: Edge) -> Reply:
        """Serve a canonical request on any route of the call's model, with failover."""

        async def attempt(route: RouteEntry) -> Reply:
            return await self.translated(call, route, request, edge)

        return await self.with_failover(call, attempt)

    async def translated(
        self, call: Call, route: RouteEntry, request: ChatRequest, edge: Edge
    ) -> Reply:
        if call.stream:
            events = await upstream_events.open_events(self.client, route, request, call.model.id)
            encoder = edge.stream_encoder(call.model.id)
            return SSEResponse(
                self.encode_events(call, events, encoder.encode), media_type=edge.stream_media_type
            )
        if route.provider.kind == "echo":
            events = await upstream_events.open_events(self.client, route, request, call.model.id)
            answer = await assemble(events)
        else:
            answer = await upstream_events.complete(self.client, route, request)
        data = self.priced(call, answer, edge.encode, with_cost=edge.with_cost)
        if edge.on_answer is not None:
            edge.on_answer(answer, data)
        return json_response(data)

    def priced(
        self,
        call: Call,
        answer: ChatResponse,
        encode: Callable[[ChatResponse], dict[str, Any]],
        *,
        with_cost: bool = True,
    ) -> dict[str, Any]:
        call.usage = answer.usage
        self.meter.settle(call)
        data = encode(replace(answer, model=call.model.id))
        if with_cost and isinstance(data.get("usage"), dict):
            add_cost(data["usage"], call.cost_usd, call.cost_points)
        return data

    async def encode_events(
        self,
        call: Call,
        events: AsyncIterator[StreamEvent],
        encode: Callable[[StreamEvent], bytes],
    ) -> AsyncGenerator[bytes, None]:
        """Encode canonical events for the client, metering them as they pass."""
        try:
            async for event in events:
                if isinstance(event, UsageReport):
                    call.usage = event.usage
                    self.meter.settle(call)
                    event = replace(event, cost_usd=call.cost_usd, cost_points=call.cost_points)
                elif isinstance(event, TextDelta):
                    call.streamed_tokens += count_text(event.text)
                elif isinstance(event, ToolCallDelta):
                    call.streamed_tokens += count_text(event.arguments)
                yield encode(event)
        except GatewayError as exc:
            yield encode(StreamError(exc.status, exc.message, exc.kind))
        finally:
            self.meter.settle(call)
            await events.aclose()  # type: ignore[attr-defined]
