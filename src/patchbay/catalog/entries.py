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
    timeout_s: float = 600.0
    enabled: bool = True
    user_owned: bool = False  # a user's bot endpoint: address checks apply when connecting


@dataclass(frozen=True, slots=True)
class RouteEntry:
    provider: ProviderEntry
    upstream_model: str
    weight: int = 1


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
    def is_bot(self) -> bool:
        return self.owner_account_id is not None
