"""The non-chat model endpoints' edges: embeddings, completions, moderations, images, audio,
rerank, video tasks, Gemini embeddings, and the 501 answers for files and fine-tuning.

``HOT_ROUTES`` are the POST routes served on the hot path (``api.hot_paths``);
``gemini_methods`` puts Gemini's embedding methods, and image generation on image models,
in front of its generate edge;
``add_routes`` adds the GET routes and the 501s to the FastAPI app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from patchbay.api.exchange import Exchange
from patchbay.api.model_api import (
    audio,
    completions,
    embeddings,
    gemini_embed,
    gemini_images,
    images,
    moderations,
    rerank,
    unimplemented,
    videos,
)
from patchbay.asgi.replies import Reply
from patchbay.catalog.endpoints import served

Endpoint = Callable[[Exchange], Awaitable[Reply]]
IMAGE_METHODS = ("generateContent", "streamGenerateContent")

HOT_ROUTES: dict[str, Endpoint] = {
    "/v1/embeddings": embeddings.create,
    "/v1/completions": completions.create,
    "/v1/moderations": moderations.create,
    "/v1/images/generations": images.generations,
    "/v1/images/edits": images.edits,
    "/v1/audio/transcriptions": audio.transcriptions,
    "/v1/audio/translations": audio.translations,
    "/v1/audio/speech": audio.speech,
    "/v1/rerank": rerank.create,
    "/v1/videos": videos.create,
}


def gemini_methods(generate: Endpoint) -> Endpoint:
    """Gemini's ``/models/{model}:method`` edge with the embedding methods in front."""

    async def route(exchange: Exchange) -> Reply:
        model, _, method = exchange.path_params.get("target", "").rpartition(":")
        if method in gemini_embed.METHODS:
            return await gemini_embed.embed(exchange)
        if method in IMAGE_METHODS:  # an image model without chat: Nano Banana's format
            entry = exchange.gateway.catalog.get(model)
            endpoints = served(entry) if entry is not None else ()
            if "images" in endpoints and "chat" not in endpoints:
                return await gemini_images.generate(exchange)
        return await generate(exchange)

    return route


def add_routes(app: Any, endpoint: Callable[[Any], Any]) -> None:
    """The GET routes of video tasks and the 501s, on the FastAPI ``app`` (``endpoint`` is
    the app's wrapper for handlers answering raw ASGI replies)."""
    app.add_route("/v1/videos/{video_id}", endpoint(videos.retrieve), methods=["GET"])
    app.add_route("/v1/videos/{video_id}/content", endpoint(videos.content), methods=["GET"])
    for path in unimplemented.PATHS:
        app.add_route(path, endpoint(unimplemented.refuse), methods=unimplemented.METHODS)
