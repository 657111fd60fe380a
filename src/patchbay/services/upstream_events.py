"""Calls an upstream of any kind with a canonical request and yields canonical events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.events import StreamEvent
from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.errors import UpstreamError
from patchbay.providers import echo
from patchbay.providers.registry import adapter
from patchbay.upstream.client import UpstreamClient, UpstreamResponse
from patchbay.upstream.errors import error_for_status


def _request(route: RouteEntry, req: ChatRequest, stream: bool) -> tuple[Any, str, bytes, dict]:
    provider = route.provider
    module = adapter(provider.kind)
    body = module.build_request(req, upstream_model=route.upstream_model, stream=stream)
    url = (provider.base_url or "").rstrip("/") + module.path(route.upstream_model, stream)
    headers = {"content-type": "application/json", **module.auth_headers(provider.api_key)}
    return module, url, orjson.dumps(body), headers


def _failure(route: RouteEntry, module: Any, response: UpstreamResponse) -> Exception:
    message = module.parse_error(response.status, response.body)
    if route.provider.api_key:
        message = message.replace(route.provider.api_key, "***")
    return error_for_status(route.provider.name, response.status, message[:500])


async def complete(client: UpstreamClient, route: RouteEntry, req: ChatRequest) -> ChatResponse:
    module, url, body, headers = _request(route, req, stream=False)
    provider = route.provider
    response = await client.post(
        provider.name, url, body, headers, provider.timeout_s, guarded=provider.user_owned
    )
    if response.status >= 400:
        raise _failure(route, module, response)
    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"upstream '{provider.name}' answered malformed JSON") from None
    try:
        return module.parse_response(data)  # type: ignore[no-any-return]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UpstreamError(f"upstream '{provider.name}' answered an unexpected shape") from None


async def open_events(
    client: UpstreamClient, route: RouteEntry, req: ChatRequest, model_id: str
) -> AsyncIterator[StreamEvent]:
    """Start the stream (raising before any byte is sent if it fails) and return its events."""
    if route.provider.kind == "echo":
        return echo.stream(req, model=model_id)
    module, url, body, headers = _request(route, req, stream=True)
    provider = route.provider
    chunks = client.stream(
        provider.name, url, body, headers, provider.timeout_s, guarded=provider.user_owned
    )
    head = await anext(chunks)
    assert isinstance(head, UpstreamResponse)
    if head.status >= 400:
        await chunks.aclose()
        raise _failure(route, module, head)
    return _parse(module, chunks)


async def _parse(
    module: Any, chunks: AsyncIterator[UpstreamResponse | bytes]
) -> AsyncIterator[StreamEvent]:
    parser = module.StreamParser()
    try:
        async for chunk in chunks:
            assert isinstance(chunk, bytes)
            for event in parser.feed(chunk):
                yield event
        for event in parser.close():
            yield event
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
