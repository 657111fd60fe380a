"""Same-protocol calls: the client's body forwarded as it came, the answer relayed as it comes.

The kind's ``NativeWire`` rewrites only the model (and adds what metering needs), reads the
usage of a whole answer or of a stream as it passes, and puts the cost back where the protocol
has a slot. An upstream refusal that is about the request (a 4xx other than auth, timeout or
rate limit) reaches the client as the upstream sent it — status, error type and message, the
gateway's own key scrubbed — because clients adapt their requests to the exact error they get.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from decimal import Decimal

from patchbay.accounting import bpe
from patchbay.asgi.replies import BytesReply, JSONReply, Reply
from patchbay.asgi.sse import LastChunk, SSEResponse
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.metering.call import Call
from patchbay.providers.base import (
    NativeWire,
    Relay,
    Transport,
    parse_json_object,
    refusal,
    relayed_as_sent,
    scrub,
)
from patchbay.proxy.inbound import Inbound, Keep
from patchbay.upstream.answers import UpstreamResponse, UpstreamStream

Settle = Callable[[Call], None]


class CallTally:
    """A relay's view of the call: counts streamed text, settles when the usage arrives."""

    __slots__ = ("call", "settle")

    def __init__(self, call: Call, settle: Settle) -> None:
        self.call = call
        self.settle = settle

    def count(self, text: str) -> None:
        self.call.streamed_tokens += bpe.count(text)

    def report(self, usage: Usage) -> tuple[Decimal | None, int | None]:
        call = self.call
        call.usage = usage
        self.settle(call)
        return call.cost_usd, call.cost_points


def refused(route: RouteEntry, answer: UpstreamResponse | UpstreamStream) -> Reply:
    """The upstream's refusal as sent, or raise the gateway's error to fail over."""
    status, body, content_type = answer.status, answer.body, answer.content_type
    error = refusal(route, status, body[:2000].decode("utf-8", "replace"), answer.retry_after)
    if not relayed_as_sent(error):
        raise error
    kind = content_type.encode() if content_type else b"application/json"
    return BytesReply(scrub(route, body.decode("utf-8", "replace")).encode(), status, None, kind)


async def forward(
    transport: Transport,
    settle: Settle,
    call: Call,
    route: RouteEntry,
    native: NativeWire,
    inbound: Inbound,
) -> Reply:
    out = native.outbound(route, inbound.body, stream=call.stream, headers=inbound.forward_headers)
    provider = route.provider
    if not call.stream:
        response = await transport.post(
            provider.name, out.url, out.body, out.headers, provider.timeouts,
            guarded=provider.user_owned,
        )  # fmt: skip
        if response.status >= 400:
            return refused(route, response)
        answer = parse_json_object(provider.name, response.body)
        usage = native.usage(answer)
        if usage is None:  # counted by the gateway, and marked so
            produced = bpe.count(native.text(answer))
            prompt = bpe.count_json(inbound.body)
            usage = Usage(input_tokens=prompt, output_tokens=produced, estimated=True)
        call.usage = usage
        settle(call)
        body = native.finish(
            answer, response.body, call.model.id, (call.cost_usd, call.cost_points)
        )
        if inbound.keep is not None:
            await inbound.keep(answer)
        return JSONReply(body)
    upstream = await transport.open_stream(
        provider.name, out.url, out.body, out.headers, provider.timeouts,
        guarded=provider.user_owned,
    )  # fmt: skip
    if upstream.status >= 400:
        return refused(route, upstream)
    relay = native.relay(
        CallTally(call, settle),
        body=inbound.body,
        model=call.model.id,
        upstream_model=route.upstream_model,
        framing=inbound.framing,
    )
    return SSEResponse(
        _relay(call, upstream, relay, settle, inbound.keep),
        media_type=inbound.stream_media_type,
    )


async def _relay(
    call: Call,
    upstream: UpstreamStream,
    relay: Relay,
    settle: Settle,
    keep: Keep | None,
) -> AsyncGenerator[bytes, None]:
    chunks, at_eof = upstream.chunks, upstream.at_eof
    try:
        out = b""
        async for chunk in chunks:
            out = relay.feed(chunk)
            if relay.final is not None and keep is not None:
                final, relay.final = relay.final, None
                await keep(final)
            if at_eof():
                break  # the upstream's body is complete: these bytes go out with its end
            if out:
                yield out
            out = b""
        out += relay.close()
        if relay.final is not None and keep is not None:
            await keep(relay.final)
        yield LastChunk(out)  # the body's end, sent in the same write
    except GatewayError as exc:
        yield relay.fail(exc)
    finally:
        relay.drain()
        settle(call)
        await chunks.aclose()
