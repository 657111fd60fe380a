"""Per-provider timeouts against the real server: the first byte, the idle gap inside a
stream and the whole call each bound what the client waits for, and each protocol's client
gets a 504 in its own envelope (or, mid-stream, the protocol's error event), never a hang."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess, start_gateway


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    base, root, key = fake_openai.base_url, fake_openai.root_url, fake_openai.api_key
    config = f"""
[[providers]]
name = "quick-first-byte"
kind = "openai"
base_url = "{base}"
api_key = "{key}"
timeout_s = 30
first_byte_timeout_s = 0.6
idle_timeout_s = 0.6

[[providers]]
name = "quick-anthropic"
kind = "anthropic"
base_url = "{root}"
api_key = "{key}"
timeout_s = 30
first_byte_timeout_s = 0.6
idle_timeout_s = 0.6

[[models]]
id = "impatient"
routes = [ {{ provider = "quick-first-byte", model = "m" }} ]

[[models]]
id = "impatient-claude"
routes = [ {{ provider = "quick-anthropic", model = "m" }} ]
"""
    process = start_gateway(Path(str(tmp_path_factory.mktemp("timeouts"))), config=config)
    with process.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "t", "points": 10**9}).json()
        process.env["KEY"] = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "k"}
        ).json()["key"]
    yield process
    process.stop()


def test_a_slow_first_byte_is_a_504_in_each_envelope(
    gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = gateway.env["KEY"]
    fake_openai.faults.delay_s = 2.0
    began = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        openai.OpenAI(
            base_url=gateway.openai_base, api_key=key, max_retries=0
        ).chat.completions.create(model="impatient", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 504
    assert time.monotonic() - began < 1.8  # the first-byte timeout, not the 30 s total
    with pytest.raises(anthropic.APIStatusError) as refused:
        anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0).messages.create(
            model="impatient-claude", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 504
    body: object = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error"


def test_an_idle_stream_ends_with_the_protocols_error_event(
    gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = gateway.env["KEY"]
    fake_openai.faults.chunk_delay_s = 1.5  # the first chunk comes, then silence
    began = time.monotonic()
    with httpx.stream(
        "POST",
        gateway.openai_base + "/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={
            "model": "impatient",
            "stream": True,
            "messages": [{"role": "user", "content": "a b c d"}],
        },
        timeout=10,
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert time.monotonic() - began < 4
    assert '"error"' in text and "data: [DONE]" in text
    with httpx.stream(
        "POST",
        gateway.url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": "impatient-claude",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "a b c d"}],
        },
        timeout=10,
    ) as response:
        events = "".join(response.iter_text())
    assert "event: error" in events
