"""Responses conversations kept by the gateway, each protocol's error envelope, and upstream
faults in the middle of a stream surfaced as each protocol's error event."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.fake_openai import FakeOpenAI
from tests.integration.clients import KINDS
from tests.servers import GatewayProcess


@pytest.mark.parametrize("kind", KINDS)
def test_previous_response_id_continues_on_any_upstream(
    matrix: tuple[GatewayProcess, str],
    kind: str,
    fake_openai: FakeOpenAI,
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    first = client.responses.create(
        model=f"via-{kind}", input="my name is Ada", instructions="be brief"
    )
    time.sleep(0.2)  # the conversation is stored right after the answer
    second = client.responses.create(
        model=f"via-{kind}", input="what is my name", previous_response_id=first.id
    )
    assert "what is my name" in second.output_text
    if kind != "echo":
        sent = str(fake_openai.requests[-1].body)
        assert "my name is Ada" in sent and "You said: my name is Ada" in sent
    fetched = client.responses.retrieve(first.id)
    assert fetched.id == first.id and fetched.output_text == first.output_text
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=f"via-{kind}", input="x", previous_response_id=first.id)


def test_stored_responses_are_private_to_the_account(matrix: tuple[GatewayProcess, str]) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    kept = client.responses.create(model="via-echo", input="secret")
    time.sleep(0.2)
    with gateway.admin() as admin:
        other = admin.post("/admin/accounts", json={"name": "other-acct"}).json()
        other_key = admin.post(f"/admin/accounts/{other['id']}/keys", json={"name": "k"}).json()[
            "key"
        ]
    stranger = openai.OpenAI(base_url=gateway.openai_base, api_key=other_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(kept.id)


def test_anthropic_envelopes(matrix: tuple[GatewayProcess, str]) -> None:
    gateway, key = matrix
    bad = httpx.post(
        gateway.url + "/v1/messages",
        headers={"x-api-key": key},
        json={"model": "via-echo", "messages": [{"role": "user", "content": "x"}]},
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": bad.json()["error"]["message"]},
    }
    client = anthropic.Anthropic(base_url=gateway.url, api_key="pb-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(
            model="via-echo", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(
            model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_gemini_envelopes(matrix: tuple[GatewayProcess, str]) -> None:
    gateway, key = matrix
    bad = httpx.post(
        gateway.url + "/v1beta/models/via-echo:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": "nope"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url))
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="nope", contents="x")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    no_sse = httpx.post(
        gateway.url + "/v1beta/models/via-echo:streamGenerateContent",
        params={"key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "array please"}]}]},
    )
    chunks = no_sse.json()  # without alt=sse the stream is one JSON array
    assert isinstance(chunks, list) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert (
        "".join(
            p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"] if "text" in p
        )
        == "array please"
    )


@pytest.mark.parametrize("kind", ["openai-responses", "anthropic", "gemini"])
def test_upstream_break_mid_stream_is_an_error_event(
    matrix: tuple[GatewayProcess, str],
    fake_openai: FakeOpenAI,
    kind: str,
) -> None:
    gateway, key = matrix
    fake_openai.faults.drop_after_chunks = 3
    with httpx.stream(
        "POST",
        gateway.openai_base + "/chat/completions",
        json={
            "model": f"via-{kind}",
            "stream": True,
            "messages": [{"role": "user", "content": "a b c d e f g h"}],
        },
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert '"error"' in lines[-2] and lines[-1] == "data: [DONE]"
    fake_openai.faults.drop_after_chunks = 3
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.APIError):
        with client.messages.stream(
            model=f"via-{kind}",
            max_tokens=100,
            messages=[{"role": "user", "content": "a b c d e f g h"}],
        ) as s:
            list(s.text_stream)
