"""The model catalog as the console lists it: what the signed-in key may call, filtered by
modality, context window and price, with prices per million tokens."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from patchbay.accounts.keystore import Principal
from patchbay.catalog.access import allowed
from patchbay.catalog.entries import ModelEntry
from patchbay.catalog.loader import Catalog
from patchbay.console.sessions import Viewer

PER_MILLION = Decimal(1_000_000)
MODALITIES = ("text", "image", "audio", "video", "file")


def per_million(value: Any) -> str | None:
    """A per-token decimal string as USD per million tokens (exact digits, no float)."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)) * PER_MILLION
    except InvalidOperation:
        return None
    text = format(amount.normalize(), "f")
    return text


def _principal(who: Viewer, allowed_models: list[Any] | None) -> Principal:
    return Principal(
        key_id=who.key_id,
        key_name=who.key_name,
        account_id=who.account_id,
        account_name=who.account_name,
        role=who.role,
        allowed_models=tuple(allowed_models) if allowed_models is not None else None,
        rpm=1,
        tpm=None,
        max_points=None,
        expires_at=None,
        revoked=False,
    )


def _row(model: ModelEntry) -> dict[str, Any]:
    details = model.details
    pricing = model.pricing or {}
    context = details.get("context_window") or details.get("context_size")
    return {
        "id": model.id,
        "owned_by": model.owned_by,
        "description": model.description or "",
        "is_bot": model.is_bot,
        "inputs": list(details.get("input_modalities") or ["text"]),
        "outputs": list(details.get("output_modalities") or ["text"]),
        "context_window": int(context) if isinstance(context, int) else None,
        "max_output_tokens": details.get("max_output_tokens"),
        "prompt": per_million(pricing.get("prompt")),
        "completion": per_million(pricing.get("completion")),
        "request": pricing.get("request"),
        "free": model.prices.is_free,
    }


def _number(raw: str) -> Decimal | None:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def catalog_rows(
    catalog: Catalog,
    who: Viewer,
    allowed_models: list[Any] | None,
    *,
    modality: str,
    min_context: str,
    max_prompt: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    principal = _principal(who, allowed_models)
    context_floor = _number(min_context) if min_context else None
    price_cap = _number(max_prompt) if max_prompt else None
    rows = []
    for model in sorted(catalog.models.values(), key=lambda m: (-m.priority, m.id)):
        if not allowed(principal, model):
            continue
        row = _row(model)
        if modality and modality not in row["inputs"] and modality not in row["outputs"]:
            continue
        if context_floor is not None and (row["context_window"] or 0) < context_floor:
            continue
        if price_cap is not None and Decimal(row["prompt"] or 0) > price_cap:
            continue
        rows.append(row)
    filters = {
        "modality": modality if modality in MODALITIES else "",
        "modalities": MODALITIES,
        "min_context": min_context if context_floor is not None else "",
        "max_prompt": max_prompt if price_cap is not None else "",
    }
    return rows, filters
