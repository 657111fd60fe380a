from __future__ import annotations

import orjson
import pytest

from patchbay.errors import (
    AuthenticationFailed,
    InsufficientQuota,
    InvalidRequest,
    ModelNotFound,
    PermissionDenied,
    RateLimited,
    RequestTooLarge,
    UpstreamError,
    UpstreamTimeout,
)
from patchbay.protocols.envelopes import render

CASES = [
    (
        InvalidRequest("bad", param="model"),
        400,
        "invalid_request",
        "invalid_request_error",
        "INVALID_ARGUMENT",
    ),
    (AuthenticationFailed("no"), 401, "invalid_api_key", "authentication_error", "UNAUTHENTICATED"),
    (InsufficientQuota("broke"), 402, "insufficient_quota", "billing_error", "RESOURCE_EXHAUSTED"),
    (PermissionDenied("no"), 403, "model_not_allowed", "permission_error", "PERMISSION_DENIED"),
    (ModelNotFound("?"), 404, "model_not_found", "not_found_error", "NOT_FOUND"),
    (RequestTooLarge("big"), 413, "request_too_large", "request_too_large", "INVALID_ARGUMENT"),
    (
        RateLimited("slow", retry_after_s=2.2),
        429,
        "rate_limit_exceeded",
        "rate_limit_error",
        "RESOURCE_EXHAUSTED",
    ),
    (UpstreamError("up"), 502, "upstream_error", "api_error", "UNAVAILABLE"),
    (UpstreamTimeout("late"), 504, "upstream_timeout", "api_error", "DEADLINE_EXCEEDED"),
]


@pytest.mark.parametrize(("error", "status", "code", "anthropic_type", "grpc"), CASES)
def test_each_protocol_envelope(error, status, code, anthropic_type, grpc) -> None:  # type: ignore[no-untyped-def]
    s, body, headers = render(error, "openai")
    openai_error = orjson.loads(body)["error"]
    assert s == status and openai_error["code"] == code and isinstance(openai_error["code"], str)
    assert set(openai_error) == {"type", "message", "code", "param"}
    _, body, _ = render(error, "anthropic")
    assert orjson.loads(body) == {
        "type": "error",
        "error": {"type": anthropic_type, "message": error.message},
    }
    _, body, _ = render(error, "gemini")
    assert orjson.loads(body)["error"] == {"code": status, "message": error.message, "status": grpc}
    if status == 429:
        assert headers["retry-after"] == "3"
