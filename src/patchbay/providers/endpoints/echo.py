"""The built-in ``echo`` kind on every non-chat endpoint: deterministic, in-process, exact usage.

- embeddings: a unit vector per input from SHA-256 of its text (``dimensions``, default 64),
  as floats or, when asked, base64 float32 like OpenAI's;
- completions: the prompt back, one token at a time, ``max_tokens`` honoured (``length``),
  streamed as OpenAI's SSE chunks when asked;
- moderations: every category false, every score 0;
- rerank: the documents by word overlap with the query (the share of the query's words each
  holds), best first, ``top_n`` honoured;
- images, audio and videos: ``echo_media``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

from patchbay.accounting import tokens
from patchbay.catalog.entries import RouteEntry
from patchbay.errors import InvalidRequest
from patchbay.providers.endpoints import echo_media
from patchbay.providers.endpoints.base import Answer, EndpointRequest, EndpointTransport
from patchbay.providers.endpoints.metering import texts

CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
    "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent", "sexual",
    "sexual/minors", "violence", "violence/graphic",
)  # fmt: skip
IMAGE_CATEGORIES = {"self-harm", "self-harm/instructions", "self-harm/intent", "sexual"}
IMAGE_CATEGORIES |= {"violence", "violence/graphic"}


def vector(text: str, dimensions: int) -> list[float]:
    raw = b""
    block = 0
    while len(raw) < dimensions * 4:
        raw += hashlib.sha256(f"{block}:{text}".encode()).digest()
        block += 1
    values = [(x / 2**31) - 1.0 for x in struct.unpack(f"<{dimensions}I", raw[: dimensions * 4])]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in values]


def _inputs(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(i, int) for i in value):
        return [" ".join(map(str, value))]  # one token array
    if isinstance(value, list) and value:
        return [i if isinstance(i, str) else " ".join(map(str, i)) for i in value]
    raise InvalidRequest(f"{name} must be a string or an array", param=name)


def embeddings(request: EndpointRequest) -> dict[str, Any]:
    body = request.body
    items = _inputs(body.get("input"), "input")
    dimensions = body.get("dimensions")
    size = dimensions if isinstance(dimensions, int) and 0 < dimensions <= 4096 else 64
    as_base64 = body.get("encoding_format") == "base64"
    data: list[dict[str, Any]] = []
    for index, text in enumerate(items):
        values = vector(text, size)
        embedding: Any = values
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    used = sum(tokens.count_text(t) for t in items)
    usage = {"prompt_tokens": used, "total_tokens": used}
    return {"object": "list", "data": data, "model": request.model, "usage": usage}


def _completion_pieces(request: EndpointRequest) -> tuple[list[list[str]], list[bool], int]:
    body = request.body
    prompts = _inputs(body.get("prompt", ""), "prompt")
    limit = body.get("max_tokens")
    pieces, cut = [], []
    for prompt in prompts:
        split = tokens.split_tokens(prompt)
        cut.append(isinstance(limit, int) and len(split) > limit)
        pieces.append(split[:limit] if isinstance(limit, int) else split)
    return pieces, cut, sum(tokens.count_text(p) for p in prompts)


def completions(request: EndpointRequest) -> dict[str, Any]:
    pieces, cut, prompt = _completion_pieces(request)
    produced = sum(map(len, pieces))
    choices = [
        {
            "text": "".join(p),
            "index": i,
            "logprobs": None,
            "finish_reason": "length" if c else "stop",
        }
        for i, (p, c) in enumerate(zip(pieces, cut, strict=True))
    ]
    return {
        "id": f"cmpl-echo{uuid.uuid4().hex[:20]}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": produced,
            "total_tokens": prompt + produced,
        },
    }


async def completion_stream(request: EndpointRequest) -> AsyncIterator[bytes]:
    whole = completions(request)
    base = {k: whole[k] for k in ("id", "object", "created", "model")}
    pieces, cut, _ = _completion_pieces(request)
    for index, split in enumerate(pieces):
        for piece in split:
            choice = {"text": piece, "index": index, "logprobs": None, "finish_reason": None}
            yield b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"
        reason = "length" if cut[index] else "stop"
        last = {"text": "", "index": index, "logprobs": None, "finish_reason": reason}
        yield b"data: " + orjson.dumps({**base, "choices": [last]}) + b"\n\n"
    yield b"data: " + orjson.dumps({**base, "choices": [], "usage": whole["usage"]}) + b"\n\n"
    yield b"data: [DONE]\n\n"


def moderations(request: EndpointRequest) -> dict[str, Any]:
    value = request.body.get("input")
    items = (
        value
        if isinstance(value, list) and not all(isinstance(v, dict) for v in value)
        else [value]
    )
    image = isinstance(value, list) and any(
        isinstance(v, dict) and v.get("type") == "image_url" for v in value
    )
    result = {
        "flagged": False,
        "categories": dict.fromkeys(CATEGORIES, False),
        "category_scores": dict.fromkeys(CATEGORIES, 0.0),
        "category_applied_input_types": {
            c: (["text", "image"] if image and c in IMAGE_CATEGORIES else ["text"])
            for c in CATEGORIES
        },
    }
    return {
        "id": f"modr-echo{uuid.uuid4().hex[:20]}",
        "model": request.model,
        "results": [dict(result) for _ in items],
    }


def _words(text: str) -> set[str]:
    return {w.strip(".,;:!?\"'()[]").lower() for w in text.split()} - {""}


def rerank(request: EndpointRequest) -> dict[str, Any]:
    body = request.body
    query = body.get("query")
    documents = body.get("documents")
    if not isinstance(query, str) or not isinstance(documents, list):
        raise InvalidRequest("rerank needs a query string and a documents array", param="query")
    wanted = _words(query)
    scored = []
    for index, document in enumerate(documents):
        text = "".join(texts(document))
        overlap = len(wanted & _words(text)) / len(wanted) if wanted else 0.0
        scored.append((round(overlap, 6), index, text))
    scored.sort(key=lambda item: (-item[0], item[1]))
    top = body.get("top_n")
    if isinstance(top, int) and top >= 0:
        scored = scored[:top]
    results: list[dict[str, Any]] = []
    for score, index, text in scored:
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if body.get("return_documents"):
            result["document"] = {"text": text}
        results.append(result)
    used = tokens.count_text(query) + sum(tokens.count_text("".join(texts(d))) for d in documents)
    return {
        "id": f"rerank-echo{uuid.uuid4().hex[:20]}",
        "model": request.model,
        "results": results,
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }


JSON_ANSWERS = {
    "embeddings": embeddings,
    "completions": completions,
    "moderations": moderations,
    "rerank": rerank,
}


class EchoEndpoints:
    kind = "echo"

    def serves(self, request: EndpointRequest) -> bool:
        return True

    async def call(
        self, transport: EndpointTransport, route: RouteEntry, request: EndpointRequest
    ) -> Answer:
        endpoint = request.endpoint
        if endpoint == "completions" and request.stream:
            return Answer(content_type="text/event-stream", chunks=completion_stream(request))
        answer = JSON_ANSWERS.get(endpoint)
        if answer is not None:
            return Answer(data=answer(request))
        return echo_media.answer(request)

    async def video(
        self,
        transport: EndpointTransport,
        route: RouteEntry,
        upstream_id: str,
        variant: str | None,
    ) -> Answer:
        return echo_media.video(upstream_id, variant)


ADAPTER = EchoEndpoints()
