"""Codex CLI reads its model metadata from the gateway: with the key from an ``auth`` command
it asks ``GET /v1/models?client_version=…``, and for a model the catalog describes the
"Model metadata for `…` not found" warning is gone and the metadata is used (the default
reasoning effort, the instructions); for a model the catalog does not describe it stays."""

from __future__ import annotations

import json

import pytest

from patchbay.catalog.codex_view import DEFAULT_INSTRUCTIONS
from tests.cli.agents import Codex, Setup
from tests.cli.conftest import Rig
from tests.cli.tools import PINS, Tools

pytestmark = pytest.mark.slow
WARNING = "Model metadata for `{}` not found"


def test_described_model_has_metadata(agent_tools: Tools, rig: Rig, setup: Setup) -> None:
    model = "via-openai-responses"
    run = Codex(agent_tools).run(setup, model, "say hi")
    assert run.returncode == 0, run.describe()
    assert WARNING.format(model) not in run.stdout + run.stderr, run.describe()
    asked = [e for e in rig.recorder.exchanges if e.path.startswith("/v1/models")]
    assert asked, "Codex never asked the gateway for its models"
    version = PINS["@openai/codex"]
    assert asked[0].method == "GET" and asked[0].path == f"/v1/models?client_version={version}"
    assert asked[0].status == 200
    listed = {m["slug"]: m for m in json.loads(asked[0].answer)["models"]}
    assert listed[model]["context_window"] == 200000
    assert "plain-openai-responses" not in listed  # the catalog says nothing about it
    call = rig.recorder.model_calls()[-1].json()
    assert call["reasoning"]["effort"] == "medium"  # the catalog's default_reasoning_level
    first = call["input"][0]
    assert first["role"] == "developer"
    assert first["content"][0]["text"] == DEFAULT_INSTRUCTIONS


def test_undescribed_model_keeps_the_warning(agent_tools: Tools, setup: Setup) -> None:
    model = "plain-openai-responses"
    run = Codex(agent_tools).run(setup, model, "say hi")
    assert run.returncode == 0, run.describe()
    assert WARNING.format(model) in run.stdout + run.stderr, run.describe()
