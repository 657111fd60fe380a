"""The record of one gateway call as it travels through the request path."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.catalog.entries import ModelEntry, RouteEntry
from patchbay.domain.usage import Usage


@dataclass(slots=True)
class Call:
    """One client request: who, which model, which protocol, and what it consumed.

    ``usage`` is filled as the answer arrives (streams update it event by event), so whatever
    exit path the request takes, settlement sees the tokens produced so far.
    """

    query_id: str
    principal: Principal
    model: ModelEntry
    protocol: str  # client protocol: openai_chat | openai_responses | anthropic | gemini
    stream: bool
    route: RouteEntry | None = None
    route_key: str | None = None  # the route this call holds in flight, until settled
    usage: Usage | None = None
    prompt_estimate: int = 0  # tokens, from the request body's size (for holds)
    prompt: Any = None  # the request body, counted only if the upstream reports no usage
    max_output_tokens: int | None = None
    token_estimate: int | None = None  # what the tpm window was charged at admission
    streamed_tokens: int = 0  # output tokens counted by the gateway as they passed
    cost_usd: Decimal | None = None
    cost_points: int | None = None
    hold_points: int = 0
    shared_hold: bool = False  # the hold is also in the instances' shared book
    admitted: bool = False
    settled: bool = field(default=False)
