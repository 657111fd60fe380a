"""The limiter contract and the algorithm every backend implements.

Algorithm — per API key, over a sliding window of ``WINDOW_S`` (60 s):
- Requests: a sliding LOG of admission times. A request is admitted while fewer than ``rpm``
  admissions lie in the last 60 s. Exact: in no 60-second window are more than ``rpm`` requests
  admitted, whatever the instant the window starts. Memory is O(rpm) per active key.
- Tokens (when ``tpm`` is set): per-second buckets summed over the last 60 s. A request is
  admitted while ``used + its estimate <= tpm``; after the call the estimate is corrected by the
  real usage (``adjust_tokens``). Precision: one second (a bucket leaves the window whole).
Requests and tokens are decided together: a refusal consumes neither.

``retry_after_s`` is when the next request could be admitted; ``reset_*_s`` when the window is
fully replenished.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

WINDOW_S = 60.0


@dataclass(slots=True)  # not frozen: built on every call, and frozen __init__ is slower
class Decision:
    allowed: bool
    limit_requests: int
    remaining_requests: int
    reset_requests_s: float
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    retry_after_s: float = 0.0

    def headers(self) -> dict[str, str]:
        out = {
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-remaining-requests": str(max(0, self.remaining_requests)),
            "x-ratelimit-reset-requests": duration(self.reset_requests_s),
        }
        if self.limit_tokens is not None:
            out["x-ratelimit-limit-tokens"] = str(self.limit_tokens)
            out["x-ratelimit-remaining-tokens"] = str(max(0, self.remaining_tokens or 0))
            out["x-ratelimit-reset-tokens"] = duration(self.reset_tokens_s or 0.0)
        return out

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """``headers()`` as ASGI sends them (built directly: this runs on every call)."""
        out = [
            (b"x-ratelimit-limit-requests", b"%d" % self.limit_requests),
            (b"x-ratelimit-remaining-requests", b"%d" % max(0, self.remaining_requests)),
            (b"x-ratelimit-reset-requests", _duration_bytes(self.reset_requests_s)),
        ]
        if self.limit_tokens is not None:
            out += [
                (b"x-ratelimit-limit-tokens", b"%d" % self.limit_tokens),
                (b"x-ratelimit-remaining-tokens", b"%d" % max(0, self.remaining_tokens or 0)),
                (b"x-ratelimit-reset-tokens", _duration_bytes(self.reset_tokens_s or 0.0)),
            ]
        return out


def duration(seconds: float) -> str:
    """OpenAI's header style: ``1s``, ``250ms``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, int(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


@functools.lru_cache(maxsize=512)
def _duration_bytes(seconds: float) -> bytes:
    return duration(seconds).encode()


class Limiter(Protocol):
    async def acquire(self, key: str, *, rpm: int, tpm: int | None, tokens: int) -> Decision: ...

    async def adjust_tokens(self, key: str, *, delta: int) -> None: ...

    async def aclose(self) -> None: ...
