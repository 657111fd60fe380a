"""Error envelopes of each client protocol (SPEC §4, §6 "Errors").

OpenAI: ``{"error": {"type", "message", "code", "param"}}`` with ``code`` always a string.
Anthropic: ``{"type": "error", "error": {"type", "message"}}`` with Anthropic's own types.
Gemini: ``{"error": {"code", "message", "status"}}`` with the gRPC status name.
"""

from __future__ import annotations

from typing import Literal

import orjson

from patchbay.errors import GatewayError, RateLimited

Protocol = Literal["openai", "anthropic", "gemini"]

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}
_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "RESOURCE_EXHAUSTED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def protocol_for_path(path: str) -> Protocol:
    if path.startswith("/v1beta"):
        return "gemini"
    if path.startswith("/v1/messages"):
        return "anthropic"
    return "openai"


def error_body(error: GatewayError, protocol: Protocol) -> dict[str, object]:
    if protocol == "anthropic":
        kind = _ANTHROPIC_TYPES.get(error.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": error.message}}
    if protocol == "gemini":
        status = _GEMINI_STATUS.get(error.status, "INTERNAL")
        return {"error": {"code": error.status, "message": error.message, "status": status}}
    return {
        "error": {
            "type": error.kind,
            "message": error.message,
            "code": error.code,
            "param": error.param,
        }
    }


def error_headers(error: GatewayError) -> dict[str, str]:
    headers = dict(error.headers)
    if isinstance(error, RateLimited):
        headers["retry-after"] = str(max(1, int(error.retry_after_s + 0.999)))
    return headers


def render(error: GatewayError, protocol: Protocol) -> tuple[int, bytes, dict[str, str]]:
    return error.status, orjson.dumps(error_body(error, protocol)), error_headers(error)
