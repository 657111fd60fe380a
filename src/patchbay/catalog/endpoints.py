"""Which endpoints a model serves (``endpoints`` in the TOML and the admin API).

A model declares the endpoint families it serves; a call to any other gets a 400 in the
client's envelope. A model that declares none serves ``chat`` only (catalogs written before
``endpoints`` existed keep working), except a model routed only to the built-in ``echo`` kind,
which serves every endpoint so a fresh install exercises them all with no upstream key. User
bots serve chat only (their endpoints are the user's own Chat or Responses servers).
"""

from __future__ import annotations

from typing import Any

from patchbay.catalog.entries import ModelEntry
from patchbay.errors import InvalidRequest

ENDPOINTS = (
    "chat",  # chat completions, responses, messages, generateContent
    "embeddings",  # /v1/embeddings, Gemini :embedContent, :batchEmbedContents
    "completions",
    "moderations",
    "images",  # /v1/images/generations, /v1/images/edits
    "transcriptions",
    "translations",
    "speech",
    "rerank",
    "videos",
)
DEFAULT = ("chat",)


def parse_endpoints(value: Any) -> list[str] | None:
    """A declared ``endpoints`` list, checked (None keeps the default)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InvalidRequest(
            f"endpoints must be a non-empty list of: {', '.join(ENDPOINTS)}", param="endpoints"
        )
    out: list[str] = []
    for index, name in enumerate(value):
        if name not in ENDPOINTS:
            raise InvalidRequest(
                f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}",
                param=f"endpoints[{index}]",
            )
        if name not in out:
            out.append(name)
    return out


def served(model: ModelEntry) -> tuple[str, ...]:
    if model.is_bot:
        return DEFAULT
    declared = model.details.get("endpoints")
    if isinstance(declared, list) and declared:
        return tuple(declared)
    if model.routes and all(r.provider.kind == "echo" for r in model.routes):
        return ENDPOINTS
    return DEFAULT


def require_endpoint(model: ModelEntry, endpoint: str) -> None:
    """400 when the model does not serve ``endpoint``."""
    endpoints = served(model)
    if endpoint not in endpoints:
        raise InvalidRequest(
            f"The model '{model.id}' does not serve the {endpoint} endpoint "
            f"(it serves: {', '.join(endpoints)})",
            param="model",
        )
