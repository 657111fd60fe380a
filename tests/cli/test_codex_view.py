"""The catalog in Codex CLI's model-metadata shape (``catalog.codex_view``), and
``GET /v1/models?client_version=`` choosing it. No CLI needed: these run everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from patchbay.catalog.codex_view import DEFAULT_INSTRUCTIONS, codex_list, codex_model, version
from patchbay.catalog.entries import ModelEntry
from tests.cli.conftest import gateway_config, new_key
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess, start_gateway

# the fields Codex 0.171 refuses an entry without (found by removing each from one of its own
# bundled entries and watching it fail to decode the list)
REQUIRED = {
    "slug",
    "display_name",
    "supported_reasoning_levels",
    "shell_type",
    "visibility",
    "supported_in_api",
    "priority",
    "base_instructions",
    "support_verbosity",
    "truncation_policy",
    "experimental_supported_tools",
}


def entry(model_id: str, **details: Any) -> ModelEntry:
    return ModelEntry(model_id, "o", 0, (), details=details)


def test_required_fields_and_values() -> None:
    info = codex_model(entry("m", context_window=128000, display_name="M"), 0)
    assert REQUIRED <= info.keys()
    assert info["slug"] == "m" and info["display_name"] == "M"
    assert info["context_window"] == info["max_context_window"] == 128000
    assert info["base_instructions"] == DEFAULT_INSTRUCTIONS
    assert info["prefer_websockets"] is False and info["visibility"] == "list"


def test_only_values_codex_knows() -> None:
    info = codex_model(
        entry(
            "m",
            context_window=1000,
            supported_reasoning_levels=["low", {"effort": "turbo"}, {"effort": "high"}],
            default_reasoning_level="turbo",
            default_verbosity="loud",
            shell_type="zsh",
            apply_patch_tool_type="function",  # Codex 0.171 refuses "function"
            input_modalities=["text", "audio", "image"],
            prefer_websockets=True,
            base_instructions="Be brief.",
        ),
        3,
    )
    assert [level["effort"] for level in info["supported_reasoning_levels"]] == ["low", "high"]
    assert info["default_reasoning_level"] is None
    assert info["default_verbosity"] is None
    assert info["shell_type"] == "shell_command"
    assert info["apply_patch_tool_type"] is None
    assert info["input_modalities"] == ["text", "image"]
    assert info["prefer_websockets"] is False
    assert info["base_instructions"] == "Be brief."
    assert info["priority"] == 3


def test_list_keeps_order_filters_undescribed_and_newer_clients() -> None:
    models = [
        entry("first", context_window=10),
        entry("undescribed"),
        entry("needs-new", context_window=10, minimal_client_version="0.200.0"),
        entry("second", context_window=10, minimal_client_version="0.100.0"),
    ]
    listed = codex_list(models, "0.171.0")["models"]
    assert [(m["slug"], m["priority"]) for m in listed] == [("first", 0), ("second", 1)]
    assert listed[1]["minimal_client_version"] == "0.100.0"
    assert [m["slug"] for m in codex_list(models, "0.200.0")["models"]] == [
        "first",
        "needs-new",
        "second",
    ]
    assert version("0.171.0-alpha.2") == (0, 171, 0) and version("latest") is None


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    process = start_gateway(
        tmp_path_factory.mktemp("codex-view"), config=gateway_config(fake_openai)
    )
    yield process
    process.stop()


def test_client_version_selects_the_codex_shape(gateway: GatewayProcess) -> None:
    key = new_key(gateway)
    auth = {"authorization": f"Bearer {key}"}
    codex = httpx.get(gateway.openai_base + "/models?client_version=0.171.0", headers=auth)
    assert codex.status_code == 200
    slugs = [m["slug"] for m in codex.json()["models"]]
    assert "via-openai" in slugs and "plain-openai" not in slugs
    plain = httpx.get(gateway.openai_base + "/models", headers=auth).json()
    assert plain["object"] == "list" and "plain-openai" in [m["id"] for m in plain["data"]]
    again = httpx.get(
        gateway.openai_base + "/models?client_version=0.171.0",
        headers={**auth, "if-none-match": codex.headers["etag"]},
    )
    assert again.status_code == 304
    bad = httpx.get(
        gateway.openai_base + "/models?client_version=0.171.0",
        headers={"authorization": "Bearer pb-wrong"},
    )
    assert bad.status_code == 401
