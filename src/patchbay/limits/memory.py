"""In-process limiter (the default): the algorithm of ``base`` over dicts, O(1) amortised.

With N workers and no Redis, each worker enforces ``max(1, limit // N)`` (``divisor``), so a
key never exceeds its limit in total, at the price of refusing earlier when traffic is uneven.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from patchbay.limits.base import WINDOW_S, Decision

MAX_KEYS = 100_000


class _KeyState:
    __slots__ = ("log", "buckets", "seen")

    def __init__(self) -> None:
        self.log: deque[float] = deque()
        self.buckets: dict[int, int] = {}
        self.seen = 0.0


class MemoryLimiter:
    def __init__(
        self,
        divisor: int = 1,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = WINDOW_S,
    ) -> None:
        self.divisor = max(1, divisor)
        self.clock = clock
        self.window_s = window_s
        self._keys: dict[str, _KeyState] = {}

    def share(self, limit: int) -> int:
        return max(1, limit // self.divisor)

    def _state(self, key: str, now: float) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            if len(self._keys) >= MAX_KEYS:
                self._evict(now)
            state = self._keys[key] = _KeyState()
        state.seen = now
        log = state.log
        while log and log[0] <= now - self.window_s:
            log.popleft()
        oldest = int(now - self.window_s)
        for second in [s for s in state.buckets if s <= oldest]:
            del state.buckets[second]
        return state

    def _evict(self, now: float) -> None:
        for key in [k for k, s in self._keys.items() if s.seen < now - self.window_s]:
            del self._keys[key]

    async def acquire(self, key: str, *, rpm: int, tpm: int | None, tokens: int) -> Decision:
        now = self.clock()
        state = self._state(key, now)
        rpm = self.share(rpm)
        tpm = self.share(tpm) if tpm else None
        count = len(state.log)
        used = sum(state.buckets.values()) if tpm else 0
        req_reset = state.log[-1] + self.window_s - now if state.log else 0.0
        tok_reset = (max(state.buckets) + 1 + self.window_s - now) if state.buckets else 0.0
        refused_requests = count >= rpm
        refused_tokens = tpm is not None and used + tokens > tpm
        if refused_requests or refused_tokens:
            retry = state.log[0] + self.window_s - now if refused_requests else 0.0
            if refused_tokens:
                retry = max(retry, min(state.buckets) + 1 + self.window_s - now)
            return Decision(
                False,
                rpm,
                rpm - count,
                req_reset,
                tpm,
                (tpm - used) if tpm else None,
                tok_reset if tpm else None,
                max(retry, 0.001),
            )
        state.log.append(now)
        if tpm:
            second = int(now)
            state.buckets[second] = state.buckets.get(second, 0) + tokens
            used += tokens
        return Decision(
            True,
            rpm,
            rpm - count - 1,
            self.window_s,
            tpm,
            (tpm - used) if tpm else None,
            self.window_s if tpm else None,
        )

    async def adjust_tokens(self, key: str, *, delta: int) -> None:
        state = self._keys.get(key)
        if state is None or not delta:
            return
        second = int(self.clock())
        state.buckets[second] = state.buckets.get(second, 0) + delta

    async def aclose(self) -> None:
        return None
