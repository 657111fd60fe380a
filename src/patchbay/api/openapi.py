"""``GET /openapi.json``: one OpenAPI document for every public endpoint.

FastAPI describes the routers it serves (admin, bots, redemptions) from their signatures; the
model-call edges run ahead of FastAPI (``api.hot_paths``) and the catalog, usage and health
routes are plain routes, so they are described by hand in ``openapi_paths.json`` beside this
module. The document merges both and writes every operation's error answers the way the
gateway gives them: the statuses it can answer, each in that protocol's envelope (a 400, never
FastAPI's 422). Built once per app.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ENVELOPES = {
    "openai": "OpenAIError",
    "anthropic": "AnthropicError",
    "gemini": "GeminiError",
    "any": "AnyError",  # routes that answer in Gemini's envelope for Gemini callers
}
DESCRIPTIONS = {
    400: "invalid request (OpenAI's envelope names the field in param)",
    401: "missing, invalid, revoked or expired API key",
    402: "the account cannot pay (insufficient_quota)",
    403: "the key may not do this (model_not_allowed, admin_required)",
    404: "not found (model_not_found, not_found)",
    405: "method not allowed",
    408: "the request was sent too slowly (header_timeout_s, body_timeout_s)",
    409: "conflict (a name taken, a code already used, a task not finished)",
    413: "request body too large",
    429: "rate limited (Retry-After)",
    501: "not implemented by this gateway",
    502: "the upstream failed",
    503: "unavailable (every route cooling, the database unreachable); Retry-After",
    504: "the upstream timed out",
}
# FastAPI's routers: every one answers these (its admin key check, its body limit)
ROUTER_ERRORS = {
    "/admin": [400, 401, 403, 404, 409, 413, 503],
    "/bots": [400, 401, 403, 404, 409, 413, 503],
    "/usage/redeem": [400, 401, 404, 409, 413, 503],
}
GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/")
UNIMPLEMENTED = ("get", "post", "delete")
SECURITY: list[dict[str, list[str]]] = [
    {"bearer": []},
    {"x-api-key": []},
    {"x-goog-api-key": []},
    {"key": []},
]


@cache
def _hand_written() -> dict[str, Any]:
    text = resources.files("patchbay.api").joinpath("openapi_paths.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def error_answers(envelope: str, statuses: list[int]) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ENVELOPES[envelope]}"}
    return {
        str(status): {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": schema}},
        }
        for status in statuses
    }


def _statuses(operation: dict[str, Any], statuses: list[int]) -> list[int]:
    """Every operation that reads the database may answer 503 during its outage, and every
    one with a body 408 when the body is sent too slowly."""
    extra = [503] if 401 in statuses else []  # authenticated: the key may need a look-up
    extra += [408] if "requestBody" in operation else []
    return sorted(set(statuses) | set(extra))


def _expand(operation: dict[str, Any]) -> dict[str, Any]:
    errors = operation.pop("x-errors", None)
    if errors is not None:
        statuses = _statuses(operation, errors["statuses"])
        operation["responses"].update(error_answers(errors["envelope"], statuses))
    return operation


def _unimplemented(path: str, parameters: list[Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"parameters": parameters} if parameters else {}
    statuses = [404, 501] if parameters else [501]  # a rest with a line break matches no route
    for method in UNIMPLEMENTED:
        item[method] = {
            "tags": ["not implemented"],
            "summary": "files and fine-tuning are not served by this gateway",
            "operationId": f"unimplemented_{method}_{path.strip('/').replace('/', '_')}",
            "responses": error_answers("openai", statuses),
        }
    return item


def _hand_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, raw in copy.deepcopy(_hand_written()["paths"]).items():
        if raw.pop("x-unimplemented", False):
            paths[path] = _unimplemented(path, raw.get("parameters", []))
            continue
        gemini = raw.pop("x-gemini", None)
        item = {k: (_expand(v) if k != "parameters" else v) for k, v in raw.items()}
        if gemini is None:
            paths[path] = item
            continue
        for prefix in GEMINI_PREFIXES:  # google-genai sends them under /v1/models/ too
            copied = copy.deepcopy(item)
            if prefix != GEMINI_PREFIXES[0]:
                for operation in copied.values():
                    if isinstance(operation, dict) and "operationId" in operation:
                        operation["operationId"] += "_v1"
            copied["parameters"] = [
                {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
            ]
            paths[prefix + path.removeprefix(GEMINI_PREFIXES[0])] = copied
    return paths


def _router_paths(generated: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in generated.get("paths", {}).items():
        statuses = next((s for p, s in ROUTER_ERRORS.items() if path.startswith(p)), [400, 401])
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # the gateway answers 400 in its envelope
            responses.update(error_answers("openai", _statuses(operation, statuses)))
        paths[path] = item
    return paths


def document(app: FastAPI) -> dict[str, Any]:
    """The whole document for ``app`` (its routers' part generated), cached on it."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    generated = get_openapi(title=app.title, version=app.version, routes=app.routes)
    hand = copy.deepcopy(_hand_written()["components"])
    schemas = {
        name: schema
        for name, schema in generated.get("components", {}).get("schemas", {}).items()
        if name not in ("HTTPValidationError", "ValidationError")
    }
    schemas.update(hand["schemas"])
    paths = _router_paths(generated)
    paths.update(_hand_paths())
    app.openapi_schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "Patchbay",
            "version": app.version,
            "description": "A self-hosted AI gateway: one API key, every model. Model calls in "
            "the OpenAI, Anthropic and Gemini protocols, the model API, the catalog, usage, "
            "bots and the admin API. Errors come in the envelope of the protocol spoken.",
        },
        "security": SECURITY,
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": hand["securitySchemes"]},
    }
    return app.openapi_schema
