"""The non-chat endpoints' path through the pipeline: the same steps as a chat call.

    authorize (404, 403) → the model serves this endpoint? (400) → limit (429) → admit (402)
      → the model's routes in balancer order, skipping kinds that do not serve the endpoint;
        an upstream fault before the first byte tries the next route
      → settle (exactly once, on every exit), the cost put in the answer's ``usage``

The pieces are the chat pipeline's own (``catalog.access.authorize``, ``admission.open_call``,
``order_routes``, ``Pipeline.settle``), so keys, ``allowed_models``, limits, holds, failover,
usage history and cost behave the same. Whole answers are settled before they are sent;
streams (completions, image and transcription SSE) as their usage passes, and at their end
whatever happens; binary answers (speech, video content) as soon as the upstream starts
answering, since their usage is known from the request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.asgi.replies import BytesReply, Reply, json_reply
from patchbay.asgi.sse import SSEResponse
from patchbay.catalog.access import authorize
from patchbay.catalog.endpoints import require_endpoint
from patchbay.catalog.entries import ModelEntry, RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError, UpstreamError
from patchbay.metering.call import Call
from patchbay.protocols.openai_usage import add_cost
from patchbay.providers.base import Relay, refusal
from patchbay.providers.endpoint_registry import endpoint_adapter
from patchbay.providers.endpoints.base import (
    Answer,
    EndpointAdapter,
    EndpointRequest,
    EndpointTransport,
)
from patchbay.providers.endpoints.metering import counted, usage_of
from patchbay.providers.endpoints.relay import UsageRelay, completion_relay
from patchbay.proxy.admission import open_call
from patchbay.proxy.inbound import Edge, Inbound
from patchbay.proxy.passthrough import CallTally
from patchbay.proxy.pipeline import Pipeline
from patchbay.upstream.errors import is_retryable

Render = Callable[[dict[str, Any]], dict[str, Any]]


def _not_chat(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a non-chat call has no canonical chat form")


NO_EDGE = Edge(_not_chat, _not_chat)


def inbound_of(request: EndpointRequest, body_size: int, max_output: int | None) -> Inbound:
    """What admission reads of a call (its size, stream flag and output limit)."""
    return Inbound(
        f"openai_{request.endpoint}",
        request.model,
        {},
        request.stream,
        body_size,
        max_output,
        NO_EDGE,
        _not_chat,
    )


class EndpointCalls:
    def __init__(self, pipeline: Pipeline, transport: EndpointTransport) -> None:
        self.pipeline = pipeline
        self.transport = transport

    def model_for(self, principal: Principal, requested: str, endpoint: str) -> ModelEntry:
        """The model, if the key may call it on this endpoint (404, 403, 400)."""
        model = authorize(principal, self.pipeline.catalog.get(requested), requested)
        require_endpoint(model, endpoint)
        return model

    async def open(
        self, principal: Principal, request: EndpointRequest, body_size: int, max_output: int | None
    ) -> tuple[Call, list[tuple[bytes, bytes]]]:
        model = self.model_for(principal, request.model, request.endpoint)
        pipeline = self.pipeline
        inbound = inbound_of(request, body_size, max_output)
        return await open_call(pipeline.limiter, pipeline.meter, principal, model, inbound)

    def routes(
        self, call: Call, request: EndpointRequest
    ) -> list[tuple[RouteEntry, EndpointAdapter]]:
        """The chat pipeline's route order (strategy, breakers, concurrency caps), less the
        routes whose kind does not serve this endpoint."""
        if not any(endpoint_adapter(r.provider.kind, request) for r in call.model.routes):
            endpoint = request.endpoint
            raise UpstreamError(f"model '{call.model.id}' has no upstream for {endpoint}")
        ordered = self.pipeline.routes_for(call)
        found = [(r, a) for r in ordered if (a := endpoint_adapter(r.provider.kind, request))]
        if not found:
            raise UpstreamError(f"no upstream of model '{call.model.id}' can take this call now")
        return found

    async def attempt(self, call: Call, request: EndpointRequest) -> Answer:
        """The first route that starts answering; retryable faults fail over to the next (and
        count against the route's breaker, as on chat calls)."""
        pipeline = self.pipeline
        routes = self.routes(call, request)
        for index, (route, adapter) in enumerate(routes):
            pipeline.began(call, route)
            try:
                answer = await adapter.call(self.transport, route, request)
            except GatewayError as exc:
                pipeline.failed(call, route, exc)
                if index == len(routes) - 1 or not is_retryable(exc):
                    raise
                continue
            pipeline.health.succeeded(route.key, time.time())
            return answer
        raise AssertionError("unreachable")

    async def serve(
        self,
        principal: Principal,
        request: EndpointRequest,
        body_size: int,
        max_output: int | None = None,
        render: Render | None = None,
    ) -> Reply:
        call, headers = await self.open(principal, request, body_size, max_output)
        settle = self.pipeline.settle
        try:
            answer = await self.attempt(call, request)
            reply = self.reply(call, request, answer, render)
        except BaseException:
            settle(call)
            raise
        reply.add_raw_headers(headers)
        return reply

    def reply(
        self, call: Call, request: EndpointRequest, answer: Answer, render: Render | None
    ) -> Reply:
        settle = self.pipeline.settle
        if answer.status >= 400:  # the upstream's refusal, as it sent it: nothing to charge
            settle(call)
            if render is not None and call.route is not None:  # in the client's own envelope
                text = (answer.raw or b"")[:2000].decode("utf-8", "replace")
                raise refusal(call.route, answer.status, text)
            return BytesReply(answer.raw or b"", answer.status, None, answer.content_type.encode())
        if answer.chunks is not None:
            return self._stream(call, request, answer, answer.chunks)
        call.usage = answer.usage or usage_of(request, answer.data, answer.raw)
        settle(call)
        if answer.data is None:
            return BytesReply(answer.raw or b"", 200, None, answer.content_type.encode())
        data = answer.data
        if "model" in data:
            data["model"] = call.model.id
        usage = data.get("usage")
        if isinstance(usage, dict):
            add_cost(usage, call.cost_usd, call.cost_points)
        return json_reply(render(data) if render is not None else data)

    def _stream(
        self, call: Call, request: EndpointRequest, answer: Answer, chunks: AsyncIterator[bytes]
    ) -> Reply:
        settle = self.pipeline.settle
        kind = answer.content_type
        relay: Relay | None = None
        if "event-stream" in kind:
            tally = CallTally(call, settle)
            upstream_model = call.route.upstream_model if call.route else call.model.id
            if request.endpoint == "completions":
                relay = completion_relay(tally, request.body, call.model.id, upstream_model)
            else:
                relay = UsageRelay(tally)
        else:  # binary: what it costs is known from the request
            call.usage = Usage(input_tokens=counted(request.body.get("input")), estimated=True)
            settle(call)
        return SSEResponse(_relay(call, chunks, relay, settle), media_type=kind.encode())


async def _relay(
    call: Call, chunks: AsyncIterator[bytes], relay: Relay | None, settle: Callable[[Call], None]
) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in chunks:
            out = relay.feed(chunk) if relay is not None else chunk
            if out:
                yield out
        if relay is not None:
            out = relay.close()
            if out:
                yield out
    except GatewayError as exc:
        if relay is not None:
            yield relay.fail(exc)
    finally:
        if relay is not None:
            relay.drain()
        settle(call)
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
