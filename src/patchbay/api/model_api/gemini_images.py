"""Gemini's ``generateContent`` (and ``:streamGenerateContent``) on a model that serves
``images`` and not ``chat`` — Nano Banana's native format: the last turn's text is the prompt,
its inline images make it an edit, ``candidateCount`` the number of images; the images come
back as inline image parts (a stream is that one answer as one chunk)."""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.api.exchange import Exchange
from patchbay.api.http import error_response
from patchbay.api.model_api.common import calls
from patchbay.asgi.replies import BytesReply, Reply
from patchbay.errors import GatewayError
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.gemini import gemini_images, image_request
from patchbay.providers.endpoints.multipart import FilePart, Form

SSE = b"text/event-stream"


async def generate(exchange: Exchange) -> Reply:
    model, _, method = exchange.path_params["target"].rpartition(":")
    gateway = exchange.gateway
    form: Form | None = None
    try:
        principal = await gateway.keys.authenticate(exchange.api_key())
        native = await exchange.json_object(gateway.settings.max_body_bytes)
        prompt, images, count = image_request(native)
        body = {"model": model, "prompt": prompt, "n": count}
        path = "/images/generations"
        if images:
            form, path = (
                Form([("model", model), ("prompt", prompt), ("n", str(count))]),
                "/images/edits",
            )
            for index, (mime, data) in enumerate(images):
                upload = FilePart("image[]", f"image-{index}.{mime.rpartition('/')[2]}", mime)
                upload.write(data)
                form.files.append(upload)
            body = form.values()
        request = EndpointRequest("images", path, model, body, form=form, native=native)
        answer: dict[str, Any] = {}

        def render(data: dict[str, Any]) -> dict[str, Any]:
            answer.update(gemini_images(data, model))
            return answer

        reply = await calls(exchange).serve(principal, request, exchange.body_size, render=render)
        if method != "streamGenerateContent" or not answer:
            return reply
        if exchange.query.get("alt") == "sse":
            return BytesReply(b"data: " + orjson.dumps(answer) + b"\r\n\r\n", 200, None, SSE)
        return BytesReply(orjson.dumps([answer]))
    except GatewayError as exc:
        return error_response(exc, "gemini")
    finally:
        if form is not None:
            form.close()
