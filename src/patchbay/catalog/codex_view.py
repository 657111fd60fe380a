"""The catalog in the shape Codex CLI reads its model metadata from (pure).

Codex asks a custom ``model_providers`` entry for ``GET {base_url}/models?client_version=X.Y.Z``
(only when the provider's key comes from an ``auth`` command — with a plain ``env_key`` it never
asks) and parses ``{"models": [ModelInfo, ...]}``: its ``codex-rs`` ``openai_models::ModelInfo``.
One entry it cannot parse fails the whole list, so every enum value is checked here and a value
Codex does not know is left out (or the model falls back to Codex's defaults) rather than sent.

Only models the catalog describes — those with a context window — are listed: for any other,
Codex keeps what it would do without the gateway (its bundled entry when the id starts with one
of its own model slugs, else its fallback metadata and the "Model metadata … not found" warning).
A listed model needs ``base_instructions``, the first developer message Codex sends for it
(Codex 0.171 refuses an entry without it, and uses its own built-in prompt only for models it
does not find): the entry's ``base_instructions`` when the catalog sets one, else
``DEFAULT_INSTRUCTIONS`` below.

What each field comes from (the catalog entry's ``details``, the seed-003 metadata):

- ``slug`` the model id; ``display_name``, ``description``;
- ``context_window`` (``context_window`` / ``context_size``), also ``max_context_window``;
- ``supported_reasoning_levels`` and ``default_reasoning_level`` (efforts Codex knows only);
- ``supports_reasoning_summaries``, ``support_verbosity``, ``default_verbosity``,
  ``supports_parallel_tool_calls``, ``input_modalities`` (``text``/``image``),
  ``minimal_client_version``; ``shell_type`` and ``apply_patch_tool_type`` (``freeform``, the
  only value Codex 0.171 accepts: a custom ``apply_patch`` tool) when set;
- ``priority``: Codex sorts ascending and makes the first the default, so each model gets its
  rank in the gateway's order (higher ``priority`` first), keeping the two orders the same;
- ``prefer_websockets`` is always false: the gateway serves Responses over HTTP only.

Models whose ``minimal_client_version`` is newer than the asking client are left out.
"""

from __future__ import annotations

import re
from typing import Any

from patchbay.catalog.entries import ModelEntry

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra")
VERBOSITY = ("low", "medium", "high")
SHELL_TYPES = ("default", "local", "unified_exec", "disabled", "shell_command")
APPLY_PATCH_TYPES = ("freeform",)
MODALITIES = ("text", "image")
DEFAULT_SHELL_TYPE = "shell_command"
TRUNCATION = {"mode": "bytes", "limit": 10_000}
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
DEFAULT_INSTRUCTIONS = """\
You are a coding agent working in the user's terminal through Codex CLI, on the files of the \
workspace it runs in. Read the task, inspect the code with the shell tool before changing it, \
make the smallest change that does what was asked, and check your work by running the \
project's own commands when that is possible. Use the tools you are given for every action on \
the machine; never claim a command ran or a file changed unless a tool result shows it. Ask \
before anything destructive or irreversible that the user did not request. Keep answers short \
and concrete: what you changed, where, and what you verified."""


def version(text: object) -> tuple[int, int, int] | None:
    """``"0.171.0"`` (or ``"0.171.0-alpha.2"``) → ``(0, 171, 0)``; anything else → None."""
    match = _VERSION.match(text) if isinstance(text, str) else None
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def _levels(details: dict[str, Any]) -> list[dict[str, str]]:
    raw = details.get("supported_reasoning_levels") or details.get("reasoning_efforts") or []
    levels = []
    for level in raw if isinstance(raw, list) else []:
        effort = level.get("effort") if isinstance(level, dict) else level
        if effort not in EFFORTS:
            continue
        text = level.get("description") if isinstance(level, dict) else None
        levels.append({"effort": effort, "description": str(text or f"{effort} reasoning effort")})
    return levels


def _choice(value: object, allowed: tuple[str, ...]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def _window(details: dict[str, Any]) -> int | None:
    value = details.get("context_window") or details.get("context_size")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def described(model: ModelEntry) -> bool:
    """Whether the catalog says enough about the model for Codex (its context window)."""
    return _window(model.details) is not None


def codex_model(model: ModelEntry, rank: int) -> dict[str, Any]:
    details = model.details
    levels = _levels(details)
    default = _choice(
        details.get("default_reasoning_level") or details.get("default_reasoning_effort"),
        tuple(level["effort"] for level in levels) or EFFORTS,
    )
    window = _window(details)
    modalities = [m for m in details.get("input_modalities") or ["text"] if m in MODALITIES]
    info: dict[str, Any] = {
        "slug": model.id,
        "display_name": str(details.get("display_name") or model.id),
        "description": model.description or "",
        "default_reasoning_level": default,
        "supported_reasoning_levels": levels,
        "shell_type": _choice(details.get("shell_type"), SHELL_TYPES) or DEFAULT_SHELL_TYPE,
        "visibility": "list",
        "supported_in_api": True,
        "priority": rank,
        "upgrade": None,
        "supports_reasoning_summaries": bool(details.get("supports_reasoning_summaries")),
        "support_verbosity": bool(details.get("support_verbosity")),
        "default_verbosity": _choice(details.get("default_verbosity"), VERBOSITY),
        "apply_patch_tool_type": _choice(details.get("apply_patch_tool_type"), APPLY_PATCH_TYPES),
        "base_instructions": str(details.get("base_instructions") or DEFAULT_INSTRUCTIONS),
        "truncation_policy": dict(TRUNCATION),
        "supports_parallel_tool_calls": bool(details.get("supports_parallel_tool_calls")),
        "context_window": window,
        "max_context_window": window,
        "auto_compact_token_limit": None,
        "experimental_supported_tools": [],
        "input_modalities": modalities or ["text"],
        "prefer_websockets": False,
    }
    minimal = version(details.get("minimal_client_version"))
    if minimal is not None:
        info["minimal_client_version"] = ".".join(map(str, minimal))
    return info


def codex_list(models: list[ModelEntry], client_version: str | None) -> dict[str, Any]:
    """``models`` in the gateway's order (``views.ordered``), as Codex's ``ModelsResponse``."""
    client = version(client_version)
    usable = [
        m
        for m in models
        if described(m)
        and (
            client is None
            or (minimal := version(m.details.get("minimal_client_version"))) is None
            or minimal <= client
        )
    ]
    return {"models": [codex_model(m, rank) for rank, m in enumerate(usable)]}
