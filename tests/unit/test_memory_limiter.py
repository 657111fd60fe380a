from __future__ import annotations

import asyncio

from patchbay.limits.memory import MemoryLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_sixth_request_in_a_minute_is_refused_with_retry_after() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    decisions = []
    for _ in range(6):
        decisions.append(run(limiter.acquire("k", rpm=5, tpm=None, tokens=1)))
        clock.now += 1
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining_requests for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[-1]
    assert refused.retry_after_s == 55  # the first admission leaves the window at +60 s
    clock.now = 1000.0 + 60.0
    assert run(limiter.acquire("k", rpm=5, tpm=None, tokens=1)).allowed


def test_no_sixty_second_window_holds_more_than_the_limit() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    admitted = []
    for _ in range(600):  # ten minutes at one attempt every second
        if run(limiter.acquire("k", rpm=7, tpm=None, tokens=1)).allowed:
            admitted.append(clock.now)
        clock.now += 1
    for start in admitted:
        assert sum(1 for t in admitted if start <= t < start + 60) <= 7


def test_tokens_refusal_consumes_nothing_and_adjust_corrects() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    first = run(limiter.acquire("k", rpm=100, tpm=1000, tokens=800))
    assert first.allowed and first.remaining_tokens == 200
    refused = run(limiter.acquire("k", rpm=100, tpm=1000, tokens=300))
    assert not refused.allowed and refused.remaining_requests == 99
    run(limiter.adjust_tokens("k", delta=-500))  # the call used 300, not 800
    assert run(limiter.acquire("k", rpm=100, tpm=1000, tokens=300)).allowed


def test_divisor_shares_a_limit_between_workers() -> None:
    limiter = MemoryLimiter(divisor=2, clock=Clock())
    allowed = [run(limiter.acquire("k", rpm=5, tpm=None, tokens=1)).allowed for _ in range(5)]
    assert allowed == [True, True, False, False, False]
    assert limiter.share(1) == 1
