"""Route health: a circuit breaker and an in-flight count per route, and the route order.

Pure: every decision takes ``now`` (Unix seconds) from the caller.

- **Closed** routes are tried. A route **opens** after ``consecutive`` failures in a row, or
  when at least ``min_samples`` of its last ``window`` outcomes are in and ``failure_rate`` of
  them failed. An open route is skipped for its cooldown: ``base_cooldown_s``, doubled at each
  reopening up to ``max_cooldown_s``, and never shorter than an upstream's ``Retry-After``.
- When the cooldown has passed the route is **half-open**: one call at a time is let through
  as a probe; its success closes the route (and resets the cooldown), its failure reopens it.
- A failure is a fault before the first byte (refused, timeout, 5xx, 429, the upstream
  refusing the gateway's key) — what the pipeline fails over on.
- ``max_concurrency`` caps a route's calls in flight; a route at its cap is skipped.

State changes carry ``changed_at``; ``merge`` takes another worker's or instance's view of a
route when it is newer (``runtime`` shares them through Redis when configured).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from patchbay.catalog.entries import RouteEntry
from patchbay.routing.balancer import order_routes

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(slots=True)
class Health:
    state: str = CLOSED
    failures: int = 0  # in a row
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=20))  # True: success
    open_until: float = 0.0
    cooldown_s: float = 0.0
    probing: bool = False
    in_flight: int = 0
    changed_at: float = 0.0
    last_error: str | None = None
    total_failures: int = 0
    total_answered: int = 0  # attempts the upstream answered (a refusal about the request too)

    def view(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "open_until": self.open_until,
            "failures": self.failures,
            "cooldown_s": self.cooldown_s,
            "changed_at": self.changed_at,
        }


@dataclass(slots=True)
class Policy:
    consecutive: int = 3
    failure_rate: float = 0.5
    window: int = 20
    min_samples: int = 10
    base_cooldown_s: float = 15.0
    max_cooldown_s: float = 300.0


class Breakers:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.routes: dict[str, Health] = {}
        self.changed: set[str] = set()  # keys whose state changed since the last ``drain``

    def health(self, key: str) -> Health:
        found = self.routes.get(key)
        if found is None:
            found = self.routes[key] = Health(outcomes=deque(maxlen=self.policy.window))
        return found

    # ---- the order in which a call tries the routes
    def order(
        self,
        routes: Sequence[RouteEntry],
        strategy: str,
        rng: random.Random,
        now: float,
    ) -> list[RouteEntry]:
        """The routes to try, in order, without those cooling down or at their cap."""
        if strategy == "ordered":
            candidates = list(routes)
        elif strategy == "least_inflight":
            candidates = sorted(routes, key=lambda r: (self.health(r.key).in_flight, rng.random()))
        else:
            candidates = order_routes(routes, rng)
        return [r for r in candidates if self._usable(r, now)]

    def _usable(self, route: RouteEntry, now: float) -> bool:
        health = self.routes.get(route.key)
        if health is None:
            return True
        if route.max_concurrency is not None and health.in_flight >= route.max_concurrency:
            return False
        if health.state == CLOSED:
            return True
        if now < health.open_until or health.probing:
            return False
        return True  # cooldown over: this call is the half-open probe (see ``began``)

    def retry_after(self, routes: Sequence[RouteEntry], now: float) -> float:
        """Seconds until one of these routes may be tried again."""
        waits = [
            max(0.0, h.open_until - now)
            for r in routes
            if (h := self.routes.get(r.key)) is not None and h.state != CLOSED
        ]
        return min(waits) if waits else 1.0

    # ---- what calls report
    def began(self, key: str, now: float) -> None:
        health = self.health(key)
        health.in_flight += 1
        if health.state != CLOSED and now >= health.open_until:
            health.state, health.probing = HALF_OPEN, True

    def ended(self, key: str) -> None:
        health = self.health(key)
        health.in_flight = max(0, health.in_flight - 1)
        if health.state == HALF_OPEN:
            health.probing = False  # a probe that ended without an outcome: let another try

    def succeeded(self, key: str, now: float) -> None:
        health = self.health(key)
        health.outcomes.append(True)
        health.failures = 0
        health.total_answered += 1
        if health.state != CLOSED:
            health.state, health.probing, health.cooldown_s = CLOSED, False, 0.0
            health.open_until, health.changed_at = 0.0, now
            self.changed.add(key)

    def failed(self, key: str, now: float, error: str, retry_after_s: float | None = None) -> None:
        health = self.health(key)
        policy = self.policy
        health.outcomes.append(False)
        health.failures += 1
        health.total_failures += 1
        health.last_error = error
        rate = health.outcomes.count(False) / len(health.outcomes)
        tripped = health.failures >= policy.consecutive or (
            len(health.outcomes) >= policy.min_samples and rate >= policy.failure_rate
        )
        if health.state == HALF_OPEN or (health.state == CLOSED and tripped):
            cooldown = (
                min(policy.max_cooldown_s, health.cooldown_s * 2)
                if health.cooldown_s
                else policy.base_cooldown_s
            )
            health.cooldown_s = cooldown
            health.state, health.probing = OPEN, False
            health.open_until = now + max(cooldown, retry_after_s or 0.0)
            health.changed_at = now
            self.changed.add(key)
        elif health.state == OPEN and retry_after_s:
            health.open_until = max(health.open_until, now + retry_after_s)

    # ---- sharing with other workers and instances
    def drain(self) -> dict[str, dict[str, Any]]:
        """The views of the routes whose state changed since the last call."""
        keys, self.changed = self.changed, set()
        return {key: self.routes[key].view() for key in keys if key in self.routes}

    def merge(self, views: dict[str, dict[str, Any]]) -> None:
        """Take other workers' views of routes where they are newer than ours."""
        for key, view in views.items():
            health = self.health(key)
            changed_at = float(view.get("changed_at") or 0.0)
            if changed_at <= health.changed_at:
                continue
            health.state = str(view.get("state") or CLOSED)
            health.open_until = float(view.get("open_until") or 0.0)
            health.failures = int(view.get("failures") or 0)
            health.cooldown_s = float(view.get("cooldown_s") or 0.0)
            health.changed_at = changed_at
            health.probing = False

    def snapshot(self, now: float) -> dict[str, dict[str, Any]]:
        """Every known route's health, for ``GET /admin/routes``."""
        out = {}
        for key, health in self.routes.items():
            state = health.state
            if state == OPEN and now >= health.open_until:
                state = HALF_OPEN  # the next call probes it
            out[key] = {
                "state": state,
                "consecutive_failures": health.failures,
                "failures": health.total_failures,
                "answered": health.total_answered,
                "recent_failure_rate": (
                    health.outcomes.count(False) / len(health.outcomes) if health.outcomes else 0.0
                ),
                "cooldown_until": health.open_until if state != CLOSED else None,
                "in_flight": health.in_flight,
                "last_error": health.last_error,
            }
        return out
