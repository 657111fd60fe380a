"""Prices per token kind, cost in ``Decimal`` and points (SPEC §3).

Kinds: ``prompt``, ``completion``, ``cache_read``, ``reasoning`` per token; ``image`` per image
token of a prompt and per image an image endpoint returns; ``request`` per call; ``second``
per second of audio (transcriptions, translations) or video (video tasks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from patchbay.domain.usage import Usage

KINDS = ("prompt", "completion", "image", "request", "cache_read", "reasoning", "second")
BASE_KINDS = ("prompt", "completion", "image", "request")


ZERO = Decimal(0)


class PricingError(ValueError):
    pass


def _price(kind: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise PricingError(f"pricing.{kind} must be a decimal string, not a float")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise PricingError(f"pricing.{kind} is not a decimal number: {value!r}") from None
    if not price.is_finite() or price < 0:
        raise PricingError(f"pricing.{kind} must be a finite, non-negative number")
    if price.adjusted() > 6 or price.as_tuple().exponent < -30:  # type: ignore[operator]
        raise PricingError(f"pricing.{kind} is out of range")
    return price


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True, slots=True)
class Pricing:
    prompt: Decimal | None = None
    completion: Decimal | None = None
    image: Decimal | None = None
    request: Decimal | None = None
    cache_read: Decimal | None = None
    reasoning: Decimal | None = None
    second: Decimal | None = None
    # derived once, read on every call: the request path never re-formats a price
    free: bool = field(default=False, init=False, repr=False, compare=False)
    texts: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prices = {kind: getattr(self, kind) for kind in KINDS}
        texts = {kind: _text(price) for kind, price in prices.items() if price is not None}
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "free", not any(prices.values()))

    @classmethod
    def parse(cls, mapping: dict[str, Any] | None) -> Pricing:
        if not mapping:
            return cls()
        unknown = set(mapping) - set(KINDS)
        if unknown:
            raise PricingError(f"unknown pricing kind: {sorted(unknown)[0]}")
        return cls(**{kind: _price(kind, mapping.get(kind)) for kind in KINDS})

    def to_json(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for kind in KINDS:
            value = getattr(self, kind)
            if kind in BASE_KINDS or value is not None:
                out[kind] = _text(value) if value is not None else None
        return out

    @property
    def is_free(self) -> bool:
        return self.free


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    cost_usd: Decimal
    tokens: dict[str, int]
    prices: dict[str, str]
    estimated: bool

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tokens": dict(self.tokens), "prices": dict(self.prices)}
        if self.estimated:
            out["estimated"] = True
        return out


def cost(usage: Usage, pricing: Pricing) -> CostBreakdown:
    zero = Decimal(0)
    text_in = max(0, usage.input_tokens - usage.cached_input_tokens - usage.image_tokens)
    text_out = max(0, usage.output_tokens - usage.reasoning_tokens)
    lines = (  # kind, tokens, the kind whose price applies (a missing price falls back)
        ("prompt", text_in, "prompt"),
        ("cache_read", usage.cached_input_tokens, "cache_read" if pricing.cache_read else "prompt"),
        ("image", usage.image_tokens, "image" if pricing.image else "prompt"),
        ("completion", text_out, "completion"),
        ("reasoning", usage.reasoning_tokens, "reasoning" if pricing.reasoning else "completion"),
    )
    total = zero
    tokens: dict[str, int] = {}
    prices: dict[str, str] = {}
    texts = pricing.texts
    for kind, count, priced_as in lines:
        if count:
            tokens[kind] = count
            price = getattr(pricing, priced_as)
            if price is not None:
                prices[kind] = texts[priced_as]
                total += price * count
    for kind, count, price in (  # per image made and per second of audio or video
        ("images", usage.images, pricing.image),
        ("seconds", usage.seconds, pricing.second),
    ):
        if count:
            tokens[kind] = count
            if price is not None:
                prices[kind] = texts["image" if kind == "images" else "second"]
                total += price * count
    if pricing.request:
        total += pricing.request
        prices["request"] = texts["request"]
    return CostBreakdown(total, tokens, prices, usage.estimated)


def points(cost_usd: Decimal, points_per_usd: int) -> int:
    return math.ceil(cost_usd * points_per_usd)


def hold_cost(pricing: Pricing, prompt_tokens: int, output_tokens: int) -> Decimal:
    """The most a call can cost: its prompt estimate and its whole output allowance
    (what ``cost`` gives for that usage, without building the breakdown)."""
    total = (pricing.prompt or ZERO) * prompt_tokens + (pricing.completion or ZERO) * output_tokens
    return total + pricing.request if pricing.request else total
