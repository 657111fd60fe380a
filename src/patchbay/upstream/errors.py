"""What an upstream's error status means for the client and for failover."""

from __future__ import annotations

from patchbay.errors import GatewayError, InvalidRequest, UpstreamError, UpstreamTimeout

RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def error_for_status(provider: str, status: int, message: str) -> GatewayError:
    """Map an upstream HTTP error to the gateway's error.

    The upstream's own auth failures become 502 (the operator's configuration is wrong, not the
    caller's key); other 4xx are the caller's request and keep the upstream's explanation.
    """
    if status in (401, 403):
        return UpstreamError(f"upstream '{provider}' rejected the gateway's credentials")
    if status in (408, 504):
        return UpstreamTimeout(f"upstream '{provider}' timed out")
    if status in RETRYABLE or status >= 500:
        return UpstreamError(f"upstream '{provider}' failed with status {status}")
    if 400 <= status < 500:
        return InvalidRequest(f"upstream '{provider}' rejected the request: {message}")
    return UpstreamError(f"upstream '{provider}' answered status {status}")


def is_retryable(error: GatewayError) -> bool:
    return isinstance(error, UpstreamError | UpstreamTimeout)
