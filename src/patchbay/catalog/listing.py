"""Rendered model lists, cached per catalog generation and per caller's view.

The same predicate that authorizes calls (``catalog.access.allowed``) filters the list. A view
is identified by the account (its private bots) and the key's ``allowed_models``; rendering and
hashing happen once per view and catalog generation, so listing costs a dict lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Literal

import orjson

from patchbay.accounts.keystore import Principal
from patchbay.catalog import views
from patchbay.catalog.access import allowed
from patchbay.catalog.entries import ModelEntry

Shape = Literal["openai", "anthropic", "gemini"]
RENDER: dict[Shape, Callable[[list[ModelEntry]], dict[str, Any]]] = {
    "openai": views.openai_list,
    "anthropic": views.anthropic_list,
    "gemini": views.gemini_list,
}
MAX_VIEWS = 10_000


class ListingCache:
    def __init__(self) -> None:
        self._views: dict[tuple[Any, ...], tuple[bytes, str]] = {}
        self._generation: object = None

    def render(
        self,
        generation: object,
        models: dict[str, ModelEntry],
        principal: Principal | None,
        shape: Shape,
    ) -> tuple[bytes, str]:
        if generation is not self._generation or len(self._views) > MAX_VIEWS:
            self._views.clear()
            self._generation = generation
        view = (
            shape,
            principal.account_id if principal else None,
            principal.allowed_models if principal else "anonymous",
        )
        cached = self._views.get(view)
        if cached is None:
            visible = views.ordered(m for m in models.values() if allowed(principal, m))
            body = orjson.dumps(RENDER[shape](visible))
            cached = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
            self._views[view] = cached
        return cached
