"""Upstream kind → its adapter. Built-in kinds register here like any other would; each is an
``Adapter`` (``providers.base``), and those that speak a client protocol natively carry their
``NativeWire`` for same-protocol calls."""

from __future__ import annotations

from patchbay.errors import UpstreamError
from patchbay.providers import anthropic, echo, gemini, openai_chat, openai_responses
from patchbay.providers.base import Adapter, HTTPAdapter
from patchbay.providers.native.anthropic import AnthropicNative
from patchbay.providers.native.gemini import GeminiNative
from patchbay.providers.native.openai_chat import ChatNative
from patchbay.providers.native.openai_responses import ResponsesNative


def _with_native(adapter: HTTPAdapter, native: type) -> HTTPAdapter:
    adapter.native = native(adapter)
    return adapter


ADAPTERS: dict[str, Adapter] = {
    "openai": _with_native(openai_chat.ADAPTER, ChatNative),
    "openai-responses": _with_native(openai_responses.ADAPTER, ResponsesNative),
    "anthropic": _with_native(anthropic.ADAPTER, AnthropicNative),
    "gemini": _with_native(gemini.ADAPTER, GeminiNative),
    "echo": echo.ADAPTER,
}


def adapter(kind: str) -> Adapter:
    found = ADAPTERS.get(kind)
    if found is None:
        raise UpstreamError(f"upstream kind '{kind}' is not available in this build")
    return found
