"""The non-chat endpoints on ``openai`` (and ``openai-responses``) upstreams: forwarded as they
came, only the model rewritten (and, for completion streams, usage asked for).

JSON bodies keep every field the client sent; uploads are re-encoded as a form with the same
fields and files in the same order, the files streamed from their spools with an exact
``Content-Length``. Binary answers (speech, video content) and SSE streams are relayed as they
arrive; whole answers come back parsed when they are JSON, as sent otherwise.
"""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.providers.base import parse_json_object, refusal, relayed_as_sent, scrub
from patchbay.providers.endpoints.base import Answer, EndpointRequest, EndpointTransport
from patchbay.providers.endpoints.multipart import encode_form
from patchbay.providers.openai_chat import auth_headers
from patchbay.upstream.answers import Body

STREAMED = frozenset({"speech"})  # binary answers, relayed as they come


def _url(route: RouteEntry, path: str) -> str:
    return (route.provider.base_url or "").rstrip("/") + path


def _json_body(request: EndpointRequest, upstream_model: str) -> dict[str, Any]:
    body = dict(request.body)
    body["model"] = upstream_model
    if request.endpoint == "completions" and request.stream:
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return body


def outbound(route: RouteEntry, request: EndpointRequest) -> tuple[Body, dict[str, str]]:
    """The body and headers the upstream gets."""
    headers = auth_headers(route.provider.api_key)
    form = request.form
    if form is None:
        headers["content-type"] = "application/json"
        return orjson.dumps(_json_body(request, route.upstream_model)), headers
    fields = [
        (name, route.upstream_model if name == "model" else value) for name, value in form.fields
    ]
    if request.endpoint == "videos" and form.get("model") is None:
        fields.append(("model", route.upstream_model))
    content_type, length, chunks = encode_form(fields, form.files)
    headers["content-type"] = content_type
    headers["content-length"] = str(length)
    return chunks, headers


def answer_of(route: RouteEntry, status: int, content_type: str, body: bytes) -> Answer:
    """A whole upstream answer; a refusal about the request is kept as sent (scrubbed), any
    other fault raised so the pipeline can fail over."""
    if status >= 400:
        error = refusal(route, status, body[:2000].decode("utf-8", "replace"))
        if not relayed_as_sent(error):
            raise error
        text = scrub(route, body.decode("utf-8", "replace")).encode()
        return Answer(status=status, content_type=content_type or "application/json", raw=text)
    if "json" in content_type or (not content_type and body[:1] in (b"{", b"[")):
        return Answer(data=parse_json_object(route.provider.name, body))
    return Answer(content_type=content_type or "text/plain", raw=body)


def _streams(request: EndpointRequest) -> bool:
    return request.endpoint in STREAMED or request.stream


class OpenAIEndpoints:
    """Every endpoint family, as OpenAI's API serves it."""

    kind = "openai"

    def serves(self, request: EndpointRequest) -> bool:
        return True

    async def call(
        self, transport: EndpointTransport, route: RouteEntry, request: EndpointRequest
    ) -> Answer:
        body, headers = outbound(route, request)
        provider = route.provider
        url = _url(route, request.path)
        if not _streams(request):
            response = await transport.post(
                provider.name, url, body, headers, provider.timeouts, guarded=provider.user_owned
            )
            return answer_of(route, response.status, response.content_type, response.body)
        upstream = await transport.open_stream(
            provider.name, url, body, headers, provider.timeouts, guarded=provider.user_owned
        )
        if upstream.status >= 400:
            return answer_of(route, upstream.status, upstream.content_type, upstream.body)
        kind = upstream.content_type or "application/octet-stream"
        return Answer(content_type=kind, chunks=upstream.chunks)

    async def video(
        self,
        transport: EndpointTransport,
        route: RouteEntry,
        upstream_id: str,
        variant: str | None,
    ) -> Answer:
        provider = route.provider
        url = _url(route, f"/videos/{upstream_id}")
        headers = auth_headers(provider.api_key)
        if variant is None:
            response = await transport.post(
                provider.name, url, b"", headers, provider.timeouts, method="GET",
                guarded=provider.user_owned,
            )  # fmt: skip
            return answer_of(route, response.status, response.content_type, response.body)
        upstream = await transport.open_stream(
            provider.name, f"{url}/content?variant={variant}", b"", headers, provider.timeouts,
            method="GET", guarded=provider.user_owned,
        )  # fmt: skip
        if upstream.status >= 400:
            return answer_of(route, upstream.status, upstream.content_type, upstream.body)
        return Answer(content_type=upstream.content_type or "video/mp4", chunks=upstream.chunks)


ADAPTER = OpenAIEndpoints()
