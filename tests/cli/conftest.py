"""Fixtures for the agent-CLI suite: the pinned CLIs, the real gateway with a model on each of
the five upstream kinds (loopback fakes and echo), a recording hop in front of it, and a fresh
account per test so its usage history holds that test's calls only."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.agents import Setup
from tests.cli.recorder import Recorder, start_recorder
from tests.cli.tools import Tools, install
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess, start_gateway

KINDS = ("openai", "openai-responses", "anthropic", "gemini", "echo")
# what the catalog says about each model: Codex reads it from GET /v1/models?client_version=
DESCRIBED = """\
display_name = "{id}"
context_window = 200000
max_output_tokens = 32000
supported_reasoning_levels = [
  {{ effort = "low", description = "quick" }},
  {{ effort = "medium", description = "balanced" }},
  {{ effort = "high", description = "thorough" }},
]
default_reasoning_level = "medium"
supports_parallel_tool_calls = true
"""
UPSTREAM_PATHS = {
    "openai": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/",
}


def gateway_config(fake: FakeOpenAI) -> str:
    lines: list[str] = []
    for kind in KINDS[:-1]:
        base = fake.base_url if kind.startswith("openai") else fake.root_url
        lines += [
            "[[providers]]",
            f'name = "p-{kind}"',
            f'kind = "{kind}"',
            f'base_url = "{base}"',
            f'api_key = "{fake.api_key}"',
            "timeout_s = 60",
            "",
        ]
    for kind in KINDS:
        provider = "echo" if kind == "echo" else f"p-{kind}"
        for model, described in ((f"via-{kind}", True), (f"plain-{kind}", False)):
            lines += [
                "[[models]]",
                f'id = "{model}"',
                'pricing = { prompt = "0.00001", completion = "0.00002" }',
                f'routes = [ {{ provider = "{provider}", model = "up-{kind}" }} ]',
            ]
            if described:
                lines.append(DESCRIBED.format(id=model))
            lines.append("")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def agent_tools() -> Tools:
    return install()


@dataclass
class Rig:
    gateway: GatewayProcess
    recorder: Recorder
    fake: FakeOpenAI


@pytest.fixture(scope="module")
def rig(
    agent_tools: Tools, tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[Rig]:
    gateway = start_gateway(
        tmp_path_factory.mktemp("cli-gateway"), config=gateway_config(fake_openai)
    )
    recorder, stop = start_recorder(gateway.url)
    yield Rig(gateway, recorder, fake_openai)
    stop()
    gateway.stop()


def new_key(gateway: GatewayProcess) -> str:
    with gateway.admin() as admin:
        account = admin.post(
            "/admin/accounts", json={"name": f"cli-{uuid.uuid4().hex[:8]}", "points": 10**9}
        )
        account.raise_for_status()
        key = admin.post(
            f"/admin/accounts/{account.json()['id']}/keys", json={"name": "agent", "rpm": 100000}
        )
        key.raise_for_status()
        return str(key.json()["key"])


@pytest.fixture
def setup(rig: Rig, tmp_path: Path) -> Setup:
    rig.recorder.clear()
    return Setup(tmp_path / "home", tmp_path / "work", rig.recorder.url, new_key(rig.gateway))


def usage_entries(gateway: GatewayProcess, key: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"starting_after": cursor} if cursor else {})
        page = httpx.get(
            gateway.url + "/usage/points_history",
            params=params,
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        ).json()
        entries += page["data"]
        if not page["has_more"]:
            return entries
        cursor = page["next_cursor"]


def upstream_calls(fake: FakeOpenAI, kind: str, model: str) -> list[Any]:
    """What the loopback fake received for this kind (the gateway sends ``up-<kind>``)."""
    if kind == "echo":
        return []
    path = UPSTREAM_PATHS[kind]
    return [
        r
        for r in fake.requests
        if r.path.startswith(path)
        and (f"up-{kind}" in r.path or r.body.get("model") == f"up-{kind}")
    ]


def assert_billed_once(rig: Rig, setup: Setup, kind: str, model: str) -> None:
    """Every upstream call billed exactly once: the CLI's model calls, what the upstream got
    (the fake's record; echo runs in the gateway) and the key's usage history agree."""
    calls = rig.recorder.model_calls()
    assert calls, "the CLI made no model call"
    upstream = upstream_calls(rig.fake, kind, model)
    if kind != "echo":
        assert len(upstream) == len(calls), (
            f"{len(calls)} CLI model calls but the {kind} upstream got {len(upstream)}"
        )
    deadline = time.monotonic() + 10
    while True:
        entries = usage_entries(rig.gateway, setup.key)
        if len(entries) >= len(calls) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(entries) == len(calls), (
        f"{len(calls)} model calls, {len(entries)} usage entries: {entries}"
    )
    assert len({e["query_id"] for e in entries}) == len(entries)
    assert all(e["bot"] == model for e in entries), entries
    assert all(e["cost_points"] > 0 for e in entries), entries
