"""The same-protocol fast path for Chat Completions clients on ``openai``-kind upstreams.

The client's body is forwarded as it came, with only the model name rewritten (and, for
streams, ``stream_options.include_usage`` switched on so the call can be metered). The answer is
relayed as it comes: a stream event is parsed only to read usage and add the cost to it; the
model name in each chunk is rewritten back with a byte replacement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from patchbay.accounting.tokens import count_text
from patchbay.api.http import JSONReply
from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError, UpstreamError
from patchbay.services.calls import Call
from patchbay.services.meter import Meter
from patchbay.services.usage_fields import add_cost, usage_from_openai_chat
from patchbay.upstream.client import UpstreamClient, UpstreamResponse
from patchbay.upstream.errors import error_for_status

DONE = b"data: [DONE]\n\n"


def request_parts(route: RouteEntry, body: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    provider = route.provider
    payload = dict(body)
    payload["model"] = route.upstream_model
    if payload.get("stream"):
        options = payload.get("stream_options")
        payload["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    headers = {"content-type": "application/json", "accept": "application/json"}
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    url = (provider.base_url or "").rstrip("/") + "/chat/completions"
    return url, orjson.dumps(payload), headers


def upstream_failure(route: RouteEntry, response: UpstreamResponse) -> GatewayError:
    message = ""
    try:
        error = orjson.loads(response.body).get("error")
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error or "")
    except (orjson.JSONDecodeError, AttributeError):
        message = ""
    key = route.provider.api_key
    if key:
        message = message.replace(key, "***")
    return error_for_status(route.provider.name, response.status, message[:500] or "no details")


async def complete(
    client: UpstreamClient, meter: Meter, call: Call, route: RouteEntry, body: dict[str, Any]
) -> JSONReply:
    url, data, headers = request_parts(route, body)
    provider = route.provider
    response = await client.post(
        provider.name, url, data, headers, provider.timeout_s, guarded=provider.user_owned
    )
    if response.status >= 400:
        raise upstream_failure(route, response)
    try:
        answer = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"upstream '{provider.name}' answered malformed JSON") from None
    if not isinstance(answer, dict):
        raise UpstreamError(f"upstream '{provider.name}' answered malformed JSON")
    call.usage = usage_from_openai_chat(answer.get("usage")) or Usage()
    meter.settle(call)
    answer["model"] = call.model.id
    if isinstance(answer.get("usage"), dict):
        add_cost(answer["usage"], call.cost_usd, call.cost_points)
    return JSONReply(orjson.dumps(answer))


async def open_stream(
    client: UpstreamClient, call: Call, route: RouteEntry, body: dict[str, Any]
) -> AsyncIterator[UpstreamResponse | bytes]:
    """Start the upstream stream; raises before any byte reaches the client if it fails."""
    url, data, headers = request_parts(route, body)
    provider = route.provider
    chunks = client.stream(
        provider.name, url, data, headers, provider.timeout_s, guarded=provider.user_owned
    )
    head = await anext(chunks)
    assert isinstance(head, UpstreamResponse)
    if head.status >= 400:
        await chunks.aclose()
        raise upstream_failure(route, head)
    return chunks


class ChatStreamRelay:
    """Relays upstream SSE bytes, metering as it goes, in constant memory per stream."""

    def __init__(self, meter: Meter, call: Call, route: RouteEntry, include_usage: bool) -> None:
        self.meter = meter
        self.call = call
        self.include_usage = include_usage
        self.buffer = b""
        upstream, client = route.upstream_model.encode(), call.model.id.encode()
        self.renames = (
            []
            if upstream == client
            else [
                (b'"model":"' + upstream + b'"', b'"model":"' + client + b'"'),
                (b'"model": "' + upstream + b'"', b'"model": "' + client + b'"'),
            ]
        )

    def feed(self, chunk: bytes) -> bytes:
        self.buffer += chunk
        if b"\n\n" not in self.buffer and b"\r\n\r\n" not in self.buffer:
            return b""
        text = self.buffer.replace(b"\r\n", b"\n")
        *events, self.buffer = text.split(b"\n\n")
        return b"".join(self._event(e) for e in events if e)

    def _event(self, event: bytes) -> bytes:
        if not event.startswith(b"data:"):
            return event + b"\n\n"
        payload = event[5:].strip()
        if payload == b"[DONE]":
            return DONE
        for old, new in self.renames:
            event = event.replace(old, new)
        if b'"usage"' not in payload:
            self._observe(payload)
            return event + b"\n\n"
        return self._usage_event(payload)

    def _observe(self, payload: bytes) -> None:
        """Count the answer's tokens as they pass, so a cut stream is charged for them."""
        if b'"content"' not in payload and b'"arguments"' not in payload:
            return
        try:
            choices = orjson.loads(payload).get("choices") or ()
        except (orjson.JSONDecodeError, AttributeError):
            return
        for choice in choices:
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("reasoning_content") or ""
            for call in delta.get("tool_calls") or ():
                text += (call.get("function") or {}).get("arguments") or ""
            if text:
                self.call.streamed_tokens += count_text(text)

    def _usage_event(self, payload: bytes) -> bytes:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return b"data: " + payload + b"\n\n"
        usage = usage_from_openai_chat(data.get("usage"))
        if usage is None:
            self._observe(payload)
            return b"data: " + payload + b"\n\n"
        self.call.usage = usage
        self.meter.settle(self.call)
        data["model"] = self.call.model.id
        if not self.include_usage:
            if not data.get("choices"):
                return b""
            data.pop("usage", None)
        else:
            add_cost(data["usage"], self.call.cost_usd, self.call.cost_points)
        return b"data: " + orjson.dumps(data) + b"\n\n"
