"""The contract of the non-chat endpoints (embeddings, completions, moderations, images, audio,
rerank, videos): what an edge hands over, what an upstream kind answers.

The canonical form of these endpoints is OpenAI's wire: an ``EndpointRequest`` carries the
OpenAI body (JSON, or a multipart ``Form``), and every ``EndpointAdapter`` answers in OpenAI's
shape — an ``Answer`` holding a JSON object, a whole non-JSON body (``text``, ``srt``), or a
stream of bytes (speech, an SSE stream). A client that spoke another protocol (Gemini
``:embedContent``) is translated at its edge, its own body kept in ``native`` so an upstream of
its protocol gets it as sent.

An adapter raises the gateway's error for an upstream fault (the pipeline fails over on the
retryable ones) and returns an ``Answer`` with the upstream's status for a refusal about the
request, which the client receives as sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.providers.endpoints.multipart import Form
from patchbay.upstream.answers import Body, Timeouts, UpstreamResponse, UpstreamStream

# endpoint family → its path under the OpenAI base URL
PATHS = {
    "embeddings": "/embeddings",
    "completions": "/completions",
    "moderations": "/moderations",
    "images": "/images/generations",
    "transcriptions": "/audio/transcriptions",
    "translations": "/audio/translations",
    "speech": "/audio/speech",
    "rerank": "/rerank",
    "videos": "/videos",
}


class EndpointTransport(Protocol):
    """The pooled upstream client (``upstream.client.UpstreamClient``)."""

    async def post(
        self,
        provider: str,
        url: str,
        body: Body,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
        method: str = "POST",
    ) -> UpstreamResponse: ...

    async def open_stream(
        self,
        provider: str,
        url: str,
        body: Body,
        headers: dict[str, str],
        timeout_s: float | Timeouts,
        *,
        guarded: bool = False,
        method: str = "POST",
    ) -> UpstreamStream: ...


@dataclass(slots=True)
class EndpointRequest:
    endpoint: str  # a family of ``catalog.endpoints.ENDPOINTS``
    path: str  # under the OpenAI base URL: /embeddings, /images/edits, /audio/speech, ...
    model: str  # the id the client asked for
    body: dict[str, Any]  # the OpenAI JSON body, or a form's text fields gathered
    form: Form | None = None  # a multipart upload: fields in order, files spooled
    stream: bool = False
    native: dict[str, Any] | None = None  # the client's own body when it spoke another protocol
    native_method: str | None = None  # e.g. Gemini ``batchEmbedContents``


@dataclass(slots=True)
class Answer:
    """An upstream's answer in OpenAI's shape: exactly one of ``data``, ``raw``, ``chunks``."""

    status: int = 200
    content_type: str = "application/json"
    data: dict[str, Any] | None = None  # a JSON answer
    raw: bytes | None = None  # a whole non-JSON answer, or a refusal as sent
    chunks: AsyncIterator[bytes] | None = None  # streamed (binary audio and video, SSE)
    usage: Usage | None = None  # set when the adapter knows it better than the answer says


class EndpointAdapter(Protocol):
    kind: str

    def serves(self, request: EndpointRequest) -> bool:
        """Whether this kind can answer this endpoint at all (else: the next route)."""

    async def call(
        self, transport: EndpointTransport, route: RouteEntry, request: EndpointRequest
    ) -> Answer: ...

    async def video(
        self,
        transport: EndpointTransport,
        route: RouteEntry,
        upstream_id: str,
        variant: str | None,
    ) -> Answer:
        """A video task's state (``variant`` None: the OpenAI ``video`` object) or one of its
        downloads (``video``: the MP4 bytes, streamed; ``thumbnail``, ``spritesheet``)."""
