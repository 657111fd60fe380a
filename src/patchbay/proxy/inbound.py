"""What a client edge hands to the pipeline: one model call, decoded only as far as routing
needs, and how its protocol renders canonical answers (for translated routes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from patchbay.domain.requests import ChatRequest
from patchbay.domain.responses import ChatResponse
from patchbay.protocols.base import StreamEncoder

Keep = Callable[[dict[str, Any]], Awaitable[None]]


class EncoderFactory(Protocol):
    def __call__(self, *, model: str) -> StreamEncoder:
        """A stream encoder for one answer; ``model`` is the id the client asked for."""


@dataclass(frozen=True, slots=True)
class Edge:
    """How one client protocol renders canonical answers: whole, and as a stream."""

    encode: Callable[[ChatResponse], dict[str, Any]]
    stream_encoder: EncoderFactory
    with_cost: bool = False  # OpenAI-shape answers carry usage.cost and usage.cost_points


@dataclass(slots=True)
class Inbound:
    """One model call as it came in.

    ``body`` is the client's JSON as sent: same-protocol routes forward it (only the model
    rewritten); translated routes ``canonical()`` it, once, when the first one is tried, with
    the protocol's ``decoder`` (a module-level function of the Inbound: no closure per call).
    ``keep`` is awaited with the whole answer object before its last byte is sent (Responses'
    ``store``), so a stored answer is findable the moment the client has it.
    """

    protocol: str  # openai_chat | openai_responses | anthropic | gemini
    model: str
    body: dict[str, Any]
    stream: bool
    body_size: int
    max_output_tokens: int | None
    edge: Edge
    decoder: Callable[[Inbound], ChatRequest]
    forward_headers: dict[str, str] | None = None
    framing: str = "sse"  # sse | json-array (Gemini streams without alt=sse)
    stream_media_type: bytes | None = None
    keep: Keep | None = None
    _canonical: ChatRequest | None = None

    def canonical(self) -> ChatRequest:
        if self._canonical is None:
            self._canonical = self.decoder(self)
        return self._canonical
