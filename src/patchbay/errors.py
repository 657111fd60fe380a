"""The gateway's exception tree; each protocol edge renders it in its own envelope.

    GatewayError                      status  OpenAI code
    ├── InvalidRequest                400     invalid_request (``param`` names the field)
    ├── AuthenticationFailed          401     invalid_api_key
    ├── InsufficientQuota             402     insufficient_quota
    ├── PermissionDenied              403     model_not_allowed
    ├── NotFound                      404     not_found
    │   └── ModelNotFound             404     model_not_found
    ├── Conflict                      409     conflict
    ├── RequestTimedOut               408     request_timeout (a request read too slowly)
    ├── RequestTooLarge               413     request_too_large
    ├── RateLimited                   429     rate_limit_exceeded (``retry_after_s``)
    ├── UpstreamError                 502     upstream_error
    ├── UpstreamTimeout               504     upstream_timeout
    └── Unavailable                   503     unavailable

Messages are written for the caller: they never carry a secret, a stack trace or an upstream
key. ``kind`` is the protocol-neutral class used to pick each envelope's type.
"""

from __future__ import annotations


class GatewayError(Exception):
    status = 500
    code = "internal_error"
    kind = "api_error"
    retry_after_s: float | None = None  # when the caller (or a route) may try again

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers: dict[str, str] = {}


class InvalidRequest(GatewayError):
    status, code, kind = 400, "invalid_request", "invalid_request_error"


class AuthenticationFailed(GatewayError):
    status, code, kind = 401, "invalid_api_key", "authentication_error"


class InsufficientQuota(GatewayError):
    status, code, kind = 402, "insufficient_quota", "insufficient_quota"


class PermissionDenied(GatewayError):
    status, code, kind = 403, "model_not_allowed", "permission_error"


class NotFound(GatewayError):
    status, code, kind = 404, "not_found", "not_found_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(GatewayError):
    status, code, kind = 409, "conflict", "conflict_error"


class RequestTimedOut(GatewayError):
    status, code, kind = 408, "request_timeout", "invalid_request_error"


class RequestTooLarge(GatewayError):
    status, code, kind = 413, "request_too_large", "request_too_large"


class RateLimited(GatewayError):
    status, code, kind = 429, "rate_limit_exceeded", "rate_limit_error"
    retry_after_s: float = 1.0

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UpstreamError(GatewayError):
    status, code, kind = 502, "upstream_error", "upstream_error"


class UpstreamTimeout(GatewayError):
    status, code, kind = 504, "upstream_timeout", "timeout_error"


class Unavailable(GatewayError):
    status, code, kind = 503, "unavailable", "overloaded_error"
