"""Upstream kind → its adapter module. Built-in kinds register here like any other would.

An adapter module provides ``path(upstream_model, stream)``, ``auth_headers(api_key)``,
``build_request(req, *, upstream_model, stream)``, ``parse_response(body)``,
``StreamParser`` (``feed(bytes) -> events``, ``close() -> events``) and
``parse_error(status, body) -> str``. The ``echo`` kind runs in-process instead.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from patchbay.errors import UpstreamError

ADAPTERS = {
    "openai": "patchbay.providers.openai_chat",
    "openai-responses": "patchbay.providers.openai_responses",
    "anthropic": "patchbay.providers.anthropic",
    "gemini": "patchbay.providers.gemini",
}
_loaded: dict[str, ModuleType] = {}


def adapter(kind: str) -> ModuleType:
    module = _loaded.get(kind)
    if module is None:
        try:
            module = _loaded[kind] = importlib.import_module(ADAPTERS[kind])
        except (KeyError, ImportError):
            raise UpstreamError(f"upstream kind '{kind}' is not available in this build") from None
    return module
