"""Reading usage out of OpenAI-shape answers and writing the cost back into them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.domain.usage import Usage


def usage_from_openai_chat(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt = data.get("prompt_tokens")
    completion = data.get("completion_tokens")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    prompt_details = data.get("prompt_tokens_details") or {}
    completion_details = data.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=prompt if isinstance(prompt, int) else 0,
        output_tokens=completion if isinstance(completion, int) else 0,
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        image_tokens=int(prompt_details.get("image_tokens") or 0),
    )


def cost_fragment(cost_usd: Decimal) -> orjson.Fragment:
    """``cost_usd`` as a JSON number with its exact decimal digits (no float rounding)."""
    text = format(cost_usd.normalize(), "f") if cost_usd else "0"
    return orjson.Fragment(text.encode())


def add_cost(usage: dict[str, Any], cost_usd: Decimal | None, cost_points: int | None) -> None:
    if cost_usd is not None:
        usage["cost"] = cost_fragment(cost_usd)
    if cost_points is not None:
        usage["cost_points"] = cost_points
