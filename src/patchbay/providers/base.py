"""The provider contract: what every upstream kind implements, ``echo`` included.

An ``Adapter`` serves canonical requests: ``complete`` answers a whole ``ChatResponse``,
``stream`` gives canonical events (raising before the first one if the upstream refuses). HTTP
kinds build on ``HTTPAdapter``, whose subclasses supply only pure translation — the upstream
path, auth headers, request body, answer, stream parser and error text — and send through the
injected ``Transport`` (``upstream.client``, the only code that opens sockets).

A kind that speaks one of the client protocols natively also has a ``NativeWire`` (``native``):
same-protocol calls forward the client's own body with only the model name and what metering
needs changed (``outbound``), read the usage of a whole answer (``usage``) and put the cost back
where the protocol has a slot (``finish``), and pass a stream through while reading its usage
(``relay``). Every URL, header and error mapping of a kind is built here, once, for both paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, runtime_checkable

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.events import LastEvents, StreamEvent
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError, UpstreamError
from patchbay.upstream.answers import Timeouts, UpstreamResponse, UpstreamStream
from patchbay.upstream.errors import error_for_status, is_retryable

MAX_ERROR_CHARS = 500


class Transport(Protocol):
    """The pooled upstream client (``upstream.client.UpstreamClient``)."""

    async def post(
        self,
        provider: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
    ) -> UpstreamResponse: ...

    async def open_stream(
        self,
        provider: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
    ) -> UpstreamStream: ...


class StreamParser(Protocol):
    """An upstream's stream bytes → canonical events, incrementally."""

    def feed(self, chunk: bytes) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]: ...


class Outbound(NamedTuple):
    """One upstream request, ready to send (a tuple: built on every call)."""

    url: str
    body: bytes
    headers: dict[str, str]


class Tally(Protocol):
    """What a same-protocol stream reports to as it passes (the pipeline's call)."""

    def count(self, text: str) -> None:
        """Output text seen, counted so a cut stream is charged for what it produced."""

    def report(self, usage: Usage) -> tuple[Decimal | None, int | None]:
        """The upstream's usage: the call is settled now; returns its cost (USD, points)."""


class Relay(Protocol):
    """Passes a same-protocol stream through, reading usage without re-encoding the rest.

    ``final`` is set to the whole answer object when the stream carries one (Responses'
    ``response.completed``), before the bytes that carry it are returned."""

    final: dict[str, Any] | None

    def feed(self, chunk: bytes) -> bytes: ...

    def close(self) -> bytes: ...

    def drain(self) -> None:
        """Count the output text held back: the stream ended, or was cut, without usage."""

    def fail(self, error: GatewayError) -> bytes:
        """The protocol's own error event, for a stream cut by the upstream or a timeout."""


class NativeWire(Protocol):
    """The same-protocol half of an adapter (see the module docstring)."""

    protocol: str  # the client protocol this kind speaks: openai_chat, anthropic, ...

    def outbound(
        self,
        route: RouteEntry,
        body: dict[str, Any],
        *,
        stream: bool,
        headers: dict[str, str] | None,
    ) -> Outbound: ...

    def usage(self, answer: dict[str, Any]) -> Usage | None: ...

    def text(self, answer: dict[str, Any]) -> str:
        """The answer's output text, to count when it reports no usage."""

    def finish(
        self,
        answer: dict[str, Any],
        raw: bytes,
        model: str,
        cost: tuple[Decimal | None, int | None],
    ) -> bytes:
        """The answer as sent to the client: the model id it asked for, the cost if the
        protocol has a slot for it (``raw`` is sent as is when nothing changes)."""

    def relay(
        self, tally: Tally, *, body: dict[str, Any], model: str, upstream_model: str, framing: str
    ) -> Relay: ...


@runtime_checkable
class CountingWire(NativeWire, Protocol):
    """A native wire whose upstream counts tokens itself (Anthropic, Gemini)."""

    def count_outbound(self, route: RouteEntry, body: dict[str, Any]) -> Outbound: ...


class Adapter(Protocol):
    kind: str
    native: NativeWire | None

    async def complete(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> ChatResponse: ...

    async def stream(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> AsyncIterator[list[StreamEvent]]:
        """The answer's events in batches: one upstream chunk's events together, the last
        batch a ``LastEvents`` when the adapter knows the upstream's body is complete."""
        ...


def scrub(route: RouteEntry, text: str) -> str:
    """An upstream's words with the gateway's own secret (the provider key) taken out."""
    key = route.provider.api_key
    return text.replace(key, "***") if key else text


def refusal(
    route: RouteEntry, status: int, message: str, retry_after_s: float | None = None
) -> GatewayError:
    """The gateway's error for an upstream's error status (``upstream.errors``), with the
    upstream's ``Retry-After`` kept for the route's breaker."""
    error = error_for_status(route.provider.name, status, scrub(route, message)[:MAX_ERROR_CHARS])
    error.retry_after_s = retry_after_s
    return error


def relayed_as_sent(error: GatewayError) -> bool:
    """Whether a same-protocol caller gets the upstream's own refusal: its 4xx are about the
    request (clients adapt to the exact error), unless the route should be failed over or it
    is about the gateway's own credentials."""
    return not is_retryable(error)


class HTTPAdapter:
    """An upstream reached over HTTP; subclasses supply the pure wire parts."""

    kind = ""
    native: NativeWire | None = None

    # ---- the pure parts each kind supplies
    def path(self, upstream_model: str, stream: bool) -> str:
        raise NotImplementedError

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        raise NotImplementedError

    def build_request(
        self, req: ChatRequest, *, upstream_model: str, stream: bool
    ) -> dict[str, Any]:
        raise NotImplementedError

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        raise NotImplementedError

    def stream_parser(self) -> StreamParser:
        raise NotImplementedError

    def parse_error(self, status: int, body: bytes) -> str:
        raise NotImplementedError

    # ---- built once here for both paths
    def url(self, route: RouteEntry, stream: bool) -> str:
        base = (route.provider.base_url or "").rstrip("/")
        return base + self.path(route.upstream_model, stream)

    def headers(self, route: RouteEntry, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.auth_headers(route.provider.api_key)}
        if extra:
            headers.update(extra)
        return headers

    def failure(
        self, route: RouteEntry, status: int, body: bytes, retry_after_s: float | None = None
    ) -> GatewayError:
        return refusal(route, status, self.parse_error(status, body), retry_after_s)

    def _outbound(self, route: RouteEntry, request: ChatRequest, stream: bool) -> Outbound:
        body = self.build_request(request, upstream_model=route.upstream_model, stream=stream)
        return Outbound(self.url(route, stream), orjson.dumps(body), self.headers(route))

    async def complete(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> ChatResponse:
        out = self._outbound(route, request, stream=False)
        provider = route.provider
        response = await transport.post(
            provider.name, out.url, out.body, out.headers, provider.timeouts,
            guarded=provider.user_owned,
        )  # fmt: skip
        if response.status >= 400:
            raise self.failure(route, response.status, response.body, response.retry_after)
        data = parse_json_object(provider.name, response.body)
        try:
            return self.parse_response(data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise UpstreamError(
                f"upstream '{provider.name}' answered an unexpected shape"
            ) from None

    async def stream(
        self, transport: Transport, route: RouteEntry, request: ChatRequest
    ) -> AsyncIterator[list[StreamEvent]]:
        out = self._outbound(route, request, stream=True)
        provider = route.provider
        upstream = await transport.open_stream(
            provider.name, out.url, out.body, out.headers, provider.timeouts,
            guarded=provider.user_owned,
        )  # fmt: skip
        if upstream.status >= 400:
            raise self.failure(route, upstream.status, upstream.body, upstream.retry_after)
        return self._events(upstream, provider.name)

    async def _events(
        self, upstream: UpstreamStream, name: str
    ) -> AsyncIterator[list[StreamEvent]]:
        parser = self.stream_parser()
        at_eof = upstream.at_eof
        try:
            async for chunk in upstream.chunks:
                try:
                    events = parser.feed(chunk)
                except (ValueError, TypeError, KeyError, AttributeError):
                    raise UpstreamError(f"upstream '{name}' sent a malformed stream") from None
                if at_eof():  # the body is complete: its end goes out with this chunk's events
                    yield LastEvents([*events, *parser.close()])
                    return
                if events:
                    yield events
            yield LastEvents(parser.close())
        finally:
            await upstream.aclose()


def parse_json_object(provider: str, body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"upstream '{provider}' answered malformed JSON") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"upstream '{provider}' answered malformed JSON")
    return data
