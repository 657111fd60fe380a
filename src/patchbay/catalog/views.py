"""The catalog rendered in the three list shapes (pure): OpenAI/Poe (seeds 000 + 003),
Anthropic and Gemini. Ordered by priority (higher first), then id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from patchbay.catalog.endpoints import served
from patchbay.catalog.entries import ModelEntry

METADATA_FIELDS = ("default_verbosity", "minimal_client_version")  # null when not configured
# seed 003's booleans: a boolean always, the default when not configured (or not a boolean)
METADATA_FLAGS = {
    "supports_reasoning_summaries": False,
    "support_verbosity": False,
    "prefer_websockets": False,
    "supports_parallel_tool_calls": False,
    "supported_in_api": True,
}
GEMINI_METHODS = {
    "chat": ["generateContent", "streamGenerateContent"],
    "embeddings": ["embedContent", "batchEmbedContents"],
}


def ordered(models: Iterable[ModelEntry]) -> list[ModelEntry]:
    return sorted(models, key=lambda m: (-m.priority, m.id))


def _modalities(model: ModelEntry) -> tuple[list[str], list[str]]:
    details = model.details
    inputs = details.get("input_modalities") or ["text"]
    outputs = details.get("output_modalities") or ["text"]
    return list(inputs), list(outputs)


def _reasoning_levels(details: dict[str, Any]) -> list[dict[str, str]]:
    levels = details.get("supported_reasoning_levels") or details.get("reasoning_efforts") or []
    out = []
    for level in levels:
        if isinstance(level, dict):
            out.append(
                {
                    "effort": str(level.get("effort")),
                    "description": str(level.get("description", "")),
                }
            )
        else:
            out.append({"effort": str(level), "description": f"{level} reasoning effort"})
    return out


def _metadata(model: ModelEntry) -> dict[str, Any]:
    details = model.details
    inputs, _ = _modalities(model)
    metadata: dict[str, Any] = {
        "display_name": details.get("display_name") or model.id,
        "description": model.description or "",
        "context_window": details.get("context_window") or details.get("context_size"),
        "max_output_tokens": details.get("max_output_tokens"),
        "input_modalities": inputs,
        "supported_reasoning_levels": _reasoning_levels(details),
        "default_reasoning_level": details.get("default_reasoning_level")
        or details.get("default_reasoning_effort"),
        "priority": model.priority,
    }
    for name, default in METADATA_FLAGS.items():
        value = details.get(name)
        metadata[name] = value if isinstance(value, bool) else default
    for name in METADATA_FIELDS:
        metadata[name] = details.get(name)
    return metadata


def openai_model(model: ModelEntry) -> dict[str, Any]:
    inputs, outputs = _modalities(model)
    pricing = model.pricing
    return {
        "id": model.id,
        "object": "model",
        "created": model.created,
        "description": model.description or "",
        "owned_by": model.owned_by,
        "permission": [],
        "root": model.id,
        "parent": None,
        "architecture": {
            "input_modalities": inputs,
            "output_modalities": outputs,
            "modality": f"{','.join(inputs)}->{','.join(outputs)}",
        },
        "pricing": None
        if not pricing or not any(pricing.values())
        else {kind: pricing.get(kind) for kind in ("prompt", "completion", "image", "request")}
        | {
            k: v
            for k, v in pricing.items()
            if k not in ("prompt", "completion", "image", "request") and v is not None
        },
        "metadata": _metadata(model),
        "supported_endpoint_types": list(served(model)),
    }


def anthropic_model(model: ModelEntry) -> dict[str, Any]:
    created = datetime.fromtimestamp(model.created / 1000, UTC)
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.details.get("display_name") or model.id,
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }


def _gemini_methods(model: ModelEntry) -> list[str]:
    endpoints = served(model)
    return [
        method for name in GEMINI_METHODS if name in endpoints for method in GEMINI_METHODS[name]
    ]


def gemini_model(model: ModelEntry) -> dict[str, Any]:
    details = model.details
    return {
        "name": f"models/{model.id}",
        "version": "001",
        "displayName": details.get("display_name") or model.id,
        "description": model.description or "",
        "inputTokenLimit": details.get("max_input_tokens")
        or details.get("context_window")
        or details.get("context_size")
        or 0,
        "outputTokenLimit": details.get("max_output_tokens") or 0,
        "supportedGenerationMethods": _gemini_methods(model),
    }


def openai_list(models: list[ModelEntry]) -> dict[str, Any]:
    return {"object": "list", "data": [openai_model(m) for m in models]}


def anthropic_list(models: list[ModelEntry]) -> dict[str, Any]:
    data = [anthropic_model(m) for m in models]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def gemini_list(models: list[ModelEntry]) -> dict[str, Any]:
    return {"models": [gemini_model(m) for m in models]}
