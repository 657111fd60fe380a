"""The circuit breaker and route order (routing.health), with the clock passed in."""

from __future__ import annotations

import random

from patchbay.catalog.entries import ProviderEntry, RouteEntry
from patchbay.routing.health import CLOSED, HALF_OPEN, OPEN, Breakers, Policy

A = RouteEntry(ProviderEntry("a", "openai", "http://a"), "m")
B = RouteEntry(ProviderEntry("b", "openai", "http://b"), "m", weight=3)
CAPPED = RouteEntry(ProviderEntry("c", "openai", "http://c"), "m", max_concurrency=1)


def breakers() -> Breakers:
    return Breakers(Policy(consecutive=3, base_cooldown_s=10, max_cooldown_s=40))


def test_consecutive_failures_open_then_a_probe_closes() -> None:
    health = breakers()
    rng = random.Random(1)
    for i in range(3):
        assert A in health.order([A, B], "ordered", rng, now=100 + i)
        health.began(A.key, 100 + i)
        health.failed(A.key, 100 + i, "refused")
        health.ended(A.key)
    assert health.health(A.key).state == OPEN
    assert health.order([A, B], "ordered", rng, now=105) == [B]  # cooling down: skipped
    assert health.retry_after([A], now=105) == 7  # opened at 102 for 10 s
    # cooldown over: one probe is let through, the others keep skipping it
    assert health.order([A, B], "ordered", rng, now=113) == [A, B]
    health.began(A.key, 113)
    assert health.health(A.key).state == HALF_OPEN
    assert health.order([A, B], "ordered", rng, now=113) == [B]
    health.succeeded(A.key, 113.5)
    health.ended(A.key)
    assert health.health(A.key).state == CLOSED
    assert health.order([A, B], "ordered", rng, now=114) == [A, B]


def test_a_failed_probe_reopens_with_a_longer_cooldown_and_retry_after_is_kept() -> None:
    health = breakers()
    for _ in range(3):
        health.failed(A.key, 0, "5xx")
    assert health.health(A.key).open_until == 10
    health.began(A.key, 11)
    health.failed(A.key, 11, "5xx")
    assert health.health(A.key).state == OPEN and health.health(A.key).open_until == 31
    health.began(A.key, 31)
    health.failed(A.key, 31, "429", retry_after_s=120)
    assert health.health(A.key).open_until == 31 + 120  # the upstream's Retry-After wins
    for start in (151, 200, 300, 400):
        health.began(A.key, start)
        health.failed(A.key, start, "5xx")
    assert health.health(A.key).cooldown_s == 40  # capped


def test_a_failure_rate_opens_a_route_that_never_fails_three_times_in_a_row() -> None:
    health = breakers()
    for i in range(12):
        if i % 2:
            health.failed(A.key, i, "5xx")
        else:
            health.succeeded(A.key, i)
    assert health.health(A.key).state == OPEN


def test_strategies_and_concurrency_caps() -> None:
    health = breakers()
    rng = random.Random(7)
    assert health.order([A, B], "ordered", rng, 0) == [A, B]
    firsts = [health.order([A, B], "weighted", rng, 0)[0] for _ in range(400)]
    assert 250 < firsts.count(B) < 350  # weight 3 of 4
    health.began(A.key, 0)
    assert health.order([A, B], "least_inflight", rng, 0) == [B, A]
    health.began(CAPPED.key, 0)
    assert health.order([CAPPED, A], "ordered", rng, 0) == [A]  # at its cap
    health.ended(CAPPED.key)
    assert health.order([CAPPED, A], "ordered", rng, 0) == [CAPPED, A]


def test_views_merge_when_newer() -> None:
    one, other = breakers(), breakers()
    for _ in range(3):
        one.failed(A.key, 50, "refused")
    other.merge(one.drain())
    assert other.health(A.key).state == OPEN and other.health(A.key).open_until == 60
    assert other.order([A, B], "ordered", random.Random(), 55) == [B]
    stale = {A.key: {"state": CLOSED, "changed_at": 10}}
    other.merge(stale)
    assert other.health(A.key).state == OPEN
