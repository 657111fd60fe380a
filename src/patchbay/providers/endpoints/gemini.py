"""The non-chat endpoints on ``gemini`` upstreams, and Gemini's embedding wire both ways (pure
translation; the call goes through the transport).

- Embeddings. A Gemini client (``:embedContent``, ``:batchEmbedContents``) on a Gemini upstream
  has its own body forwarded, only the model rewritten; an OpenAI ``/v1/embeddings`` client is
  sent ``batchEmbedContents`` (``dimensions`` → ``outputDimensionality``; floats come back as
  floats or base64 float32, as asked). Gemini reports no token usage for embeddings unless it
  sends ``usageMetadata``; otherwise the gateway counts the input (``estimated``).
- Images. ``/v1/images/generations`` and ``/v1/images/edits`` become ``generateContent`` with
  image output asked for (``responseModalities``); the answer's inline image parts become
  ``b64_json`` images, its ``usageMetadata`` the usage. Uploaded images go as inline parts.
"""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

import orjson

from patchbay.catalog.entries import RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import InvalidRequest, UpstreamError
from patchbay.providers.endpoints.base import Answer, EndpointRequest, EndpointTransport
from patchbay.providers.endpoints.metering import counted
from patchbay.providers.endpoints.openai import answer_of
from patchbay.providers.gemini import auth_headers

UPLOAD_LIMIT = 20 << 20  # Gemini's own limit for inline data in one request


def texts_of(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(str(p.get("text") or "") for p in parts or () if isinstance(p, dict))


def gemini_requests(native: dict[str, Any], method: str) -> list[dict[str, Any]]:
    if method == "batchEmbedContents":
        requests = native.get("requests")
        if not isinstance(requests, list):
            raise InvalidRequest("requests must be an array", param="requests")
        return [r for r in requests if isinstance(r, dict)]
    return [native]


def openai_body(native: dict[str, Any], method: str, model: str) -> dict[str, Any]:
    """A Gemini embedding request as an OpenAI one (one input per content)."""
    requests = gemini_requests(native, method)
    body: dict[str, Any] = {
        "model": model,
        "input": [texts_of(r.get("content")) for r in requests],
        "encoding_format": "float",
    }
    dims = next(
        (r.get("outputDimensionality") for r in requests if r.get("outputDimensionality")), None
    )
    if isinstance(dims, int):
        body["dimensions"] = dims
    return body


def _floats(embedding: Any) -> list[float]:
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(v) for v in embedding or ()]


def gemini_answer(answer: dict[str, Any], method: str) -> dict[str, Any]:
    """An OpenAI embeddings answer as Gemini's."""
    items = sorted(answer.get("data") or (), key=lambda d: int(d.get("index", 0)))
    vectors = [{"values": _floats(d.get("embedding"))} for d in items]
    out: dict[str, Any] = (
        {"embedding": vectors[0] if vectors else {"values": []}}
        if method == "embedContent"
        else {"embeddings": vectors}
    )
    usage = answer.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        tokens = usage["prompt_tokens"]
        out["usageMetadata"] = {"promptTokenCount": tokens, "totalTokenCount": tokens}
    return out


def _openai_inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidRequest(
        "a Gemini upstream embeds text only; token arrays cannot be translated", param="input"
    )


def _batch_body(request: EndpointRequest, upstream_model: str) -> dict[str, Any]:
    name = f"models/{upstream_model}"
    dims = request.body.get("dimensions")
    requests = []
    for text in _openai_inputs(request.body.get("input")):
        item: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
        if isinstance(dims, int):
            item["outputDimensionality"] = dims
        requests.append(item)
    return {"requests": requests}


def openai_answer(request: EndpointRequest, data: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    """Gemini's embeddings as OpenAI's, and the usage (counted when Gemini reports none)."""
    vectors = data.get("embeddings")
    if vectors is None and isinstance(data.get("embedding"), dict):
        vectors = [data["embedding"]]
    as_base64 = request.body.get("encoding_format") == "base64"
    out = []
    for index, vector in enumerate(vectors or ()):
        values = [float(v) for v in (vector or {}).get("values") or ()]
        embedding: Any = values
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        out.append({"object": "embedding", "index": index, "embedding": embedding})
    meta = data.get("usageMetadata") or {}
    reported = meta.get("promptTokenCount") if isinstance(meta, dict) else None
    usage = (
        Usage(input_tokens=reported)
        if isinstance(reported, int)
        else Usage(input_tokens=counted(request.body.get("input")), estimated=True)
    )
    answer = {
        "object": "list",
        "data": out,
        "model": request.model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens},
    }
    return answer, usage


def _image_body(request: EndpointRequest) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for upload in request.form.files if request.form else ():
        if upload.name.startswith("image"):
            data = base64.b64encode(upload.read_all(UPLOAD_LIMIT)).decode()
            parts.append({"inlineData": {"mimeType": upload.content_type, "data": data}})
    parts.append({"text": str(request.body.get("prompt") or "")})
    return {
        "contents": [{"role": "user", "parts": parts}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    }


def images_answer(data: dict[str, Any]) -> dict[str, Any]:
    images = [
        {"b64_json": part["inlineData"].get("data", "")}
        for candidate in data.get("candidates") or ()
        for part in (candidate.get("content") or {}).get("parts") or ()
        if isinstance(part.get("inlineData"), dict)
        and str(part["inlineData"].get("mimeType", "")).startswith("image/")
    ]
    meta = data.get("usageMetadata") or {}
    inputs, outputs = (
        int(meta.get("promptTokenCount") or 0),
        int(meta.get("candidatesTokenCount") or 0),
    )
    return {
        "created": int(time.time()),
        "data": images,
        "usage": {
            "input_tokens": inputs,
            "input_tokens_details": {"text_tokens": inputs, "image_tokens": 0},
            "output_tokens": outputs,
            "total_tokens": inputs + outputs,
        },
    }


class GeminiEndpoints:
    kind = "gemini"

    def serves(self, request: EndpointRequest) -> bool:
        return request.endpoint in ("embeddings", "images")

    async def _post(
        self, transport: EndpointTransport, route: RouteEntry, path: str, body: Any
    ) -> Answer:
        provider = route.provider
        url = (provider.base_url or "").rstrip("/") + path
        headers = {"content-type": "application/json", **auth_headers(provider.api_key)}
        response = await transport.post(
            provider.name, url, orjson.dumps(body), headers, provider.timeouts,
            guarded=provider.user_owned,
        )  # fmt: skip
        return answer_of(route, response.status, response.content_type, response.body)

    async def call(
        self, transport: EndpointTransport, route: RouteEntry, request: EndpointRequest
    ) -> Answer:
        model = route.upstream_model
        if request.endpoint == "images":
            answer = await self._post(
                transport, route, f"/v1beta/models/{model}:generateContent", _image_body(request)
            )
            return answer if answer.data is None else Answer(data=images_answer(answer.data))
        method = request.native_method or "batchEmbedContents"
        body: dict[str, Any]
        if request.native is not None:
            body = dict(request.native)
            if method == "batchEmbedContents":
                body["requests"] = [
                    {**r, "model": f"models/{model}"} for r in gemini_requests(body, method)
                ]
        else:
            body = _batch_body(request, model)
        answer = await self._post(transport, route, f"/v1beta/models/{model}:{method}", body)
        if answer.data is None:
            return answer
        if not isinstance(answer.data.get("embeddings", answer.data.get("embedding")), list | dict):
            raise UpstreamError(f"upstream '{route.provider.name}' answered an unexpected shape")
        data, usage = openai_answer(request, answer.data)
        return Answer(data=data, usage=usage)

    async def video(
        self,
        transport: EndpointTransport,
        route: RouteEntry,
        upstream_id: str,
        variant: str | None,
    ) -> Answer:
        raise InvalidRequest("gemini upstreams do not serve video tasks here")


ADAPTER = GeminiEndpoints()


def image_request(native: dict[str, Any]) -> tuple[str, list[tuple[str, bytes]], int]:
    """A Gemini ``generateContent`` asking an image model: its prompt (the last user turn's
    text), its inline images (for an edit) and how many candidates it wants."""
    contents = native.get("contents")
    turns = [c for c in contents if isinstance(c, dict)] if isinstance(contents, list) else []
    parts = [p for p in (turns[-1].get("parts") or ()) if isinstance(p, dict)] if turns else []
    prompt = " ".join(str(p["text"]) for p in parts if isinstance(p.get("text"), str))
    images = []
    for part in parts:
        inline = part.get("inlineData") or part.get("inline_data")
        if isinstance(inline, dict) and isinstance(inline.get("data"), str):
            mime = str(inline.get("mimeType") or inline.get("mime_type") or "image/png")
            images.append((mime, base64.b64decode(inline["data"])))
    config = native.get("generationConfig")
    count = config.get("candidateCount") if isinstance(config, dict) else None
    return prompt, images, count if isinstance(count, int) and count > 0 else 1


def gemini_images(answer: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI images answer as a Gemini ``generateContent`` answer with inline images."""
    kind = f"image/{answer.get('output_format') or 'png'}"
    parts = [
        {"inlineData": {"mimeType": kind, "data": item["b64_json"]}}
        for item in answer.get("data") or ()
        if isinstance(item, dict) and isinstance(item.get("b64_json"), str)
    ]
    reported = answer.get("usage")
    usage: dict[str, Any] = reported if isinstance(reported, dict) else {}
    inputs, outputs = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": inputs,
            "candidatesTokenCount": outputs,
            "totalTokenCount": inputs + outputs,
        },
        "modelVersion": model,
    }
