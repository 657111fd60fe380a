"""Immutable catalog entries the request path reads without touching the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patchbay.accounting.pricing import Pricing

PROVIDER_KINDS = ("openai", "openai-responses", "anthropic", "gemini", "echo")


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    name: str
    kind: str
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)  # decrypted, memory only
    timeout_s: float = 600.0  # a whole call; by default also the first byte and stream gaps
    enabled: bool = True
    user_owned: bool = False  # a user's bot endpoint: address checks apply when connecting
    connect_timeout_s: float | None = None  # default min(10, timeout_s)
    first_byte_timeout_s: float | None = None  # default timeout_s
    idle_timeout_s: float | None = None  # longest silence inside a stream; default timeout_s

    @property
    def timeouts(self) -> tuple[float, float, float, float]:
        """(connect, first byte, idle gap, total) in seconds."""
        total = self.timeout_s
        return (
            self.connect_timeout_s or min(10.0, total),
            self.first_byte_timeout_s or total,
            self.idle_timeout_s or total,
            total,
        )


@dataclass(frozen=True, slots=True)
class RouteEntry:
    provider: ProviderEntry
    upstream_model: str
    weight: int = 1
    max_concurrency: int | None = None  # calls in flight on this route at most
    key: str = field(default="", compare=False)  # "<provider>/<upstream model>": its health

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.provider.name}/{self.upstream_model}")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    owned_by: str
    created: int  # Unix ms
    routes: tuple[RouteEntry, ...]
    description: str | None = None
    is_public: bool = True
    owner_account_id: int | None = None  # set for bots
    priority: int = 0
    pricing: dict[str, Any] | None = None  # decimal strings by kind, as listed
    details: dict[str, Any] = field(default_factory=dict)
    prices: Pricing = field(default_factory=Pricing)  # the same, parsed, for metering

    @property
    def strategy(self) -> str:
        """How its routes share the calls: weighted (random by weight, the default),
        ordered (the listed order), least_inflight (the route with the fewest calls)."""
        return str(self.details.get("strategy") or "weighted")

    @property
    def is_bot(self) -> bool:
        return self.owner_account_id is not None
