"""Same-protocol calls are forwarded as they came: unknown top-level fields, content blocks and
tool types reach the upstream as the official SDK sent them (only the model rewritten, and
``stream_options.include_usage`` added to Chat streams), and an upstream's 400 reaches the
client as the upstream sent it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}
REFUSAL = "x_future_tool is not supported by this model"


class Capture:
    """The request bodies an SDK sent, read off its own HTTP client."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    def hook(self, request: Any) -> None:
        if request.method == "POST":
            self.bodies.append(json.loads(request.read()))
            self.headers.append({k.lower(): v for k, v in request.headers.items()})

    def client(self, module: Any = httpx) -> Any:
        """An HTTP client for the SDK (the anthropic SDK takes ``httpx2``'s)."""
        return module.Client(event_hooks={"request": [self.hook]}, timeout=30)


@pytest.fixture
def capture() -> Iterator[Capture]:
    yield Capture()


def received(fake: FakeOpenAI) -> dict[str, Any]:
    assert fake.requests, "the upstream received nothing"
    return fake.requests[-1].body


def test_chat_forwards_unknown_fields_parts_and_tools(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, capture: Capture
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(
        base_url=gateway.openai_base, api_key=key, max_retries=0, http_client=capture.client()
    )
    messages: Any = [
        {"role": "developer", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi there"},
                {"type": "x_future_part", "x_future_part": {"blob": "AAAA"}},
            ],
        },
    ]
    tools: Any = [
        {"type": "x_future_tool", "x_future_tool": {"name": "grep", "mode": "fast"}},
        {"type": "custom", "custom": {"name": "apply_patch", "description": "edit files"}},
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    ]
    extra = {"x_unknown_field": {"nested": [1, 2]}, "top_k": 7, "seed": -42}
    answer = client.chat.completions.create(
        model="via-openai", messages=messages, tools=tools, extra_body=extra
    )
    assert answer.choices[0].message.content == "You said: hi there"
    assert answer.model == "via-openai"
    sent = capture.bodies[-1]
    assert received(fake_openai) == {**sent, "model": "up-openai"}
    assert received(fake_openai)["tools"][0]["type"] == "x_future_tool"

    chunks = list(
        client.chat.completions.create(
            model="via-openai", messages=messages, tools=tools, stream=True, extra_body=extra
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    sent = capture.bodies[-1]
    expected = {**sent, "model": "up-openai", "stream_options": {"include_usage": True}}
    assert received(fake_openai) == expected


def test_chat_upstream_400_reaches_the_client_as_sent(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    fake_openai.faults.status, fake_openai.faults.message = 400, REFUSAL
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            result = client.chat.completions.create(
                model="via-openai", messages=[{"role": "user", "content": "hi"}], stream=stream
            )
            list(result)  # type: ignore[call-overload]
        assert caught.value.status_code == 400
        body: Any = caught.value.body
        assert body["message"] == REFUSAL and body["type"] == "invalid_request_error"


def test_responses_forwards_unknown_fields_items_and_tools(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, capture: Capture
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(
        base_url=gateway.openai_base, api_key=key, max_retries=0, http_client=capture.client()
    )
    items: Any = [
        {"type": "message", "role": "developer", "content": "be brief"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "hello"},
                {"type": "x_future_content", "payload": {"k": "v"}},
            ],
        },
    ]
    tools: Any = [
        {"type": "namespace", "name": "fs", "tools": [{"type": "function", "name": "read"}]},
        {"type": "web_search"},
        {"type": "x_future_tool", "config": {"depth": 3}},
        {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": False},
    ]
    extra = {"x_unknown_field": True, "prompt_cache_key": "abc", "client_metadata": {"a": "b"}}
    for stream in (False, True):
        result = client.responses.create(
            model="via-openai-responses",
            input=items,
            tools=tools,
            store=False,
            include=["reasoning.encrypted_content"],
            reasoning={"effort": "high", "summary": "auto"},
            stream=stream,
            extra_body=extra,
        )
        if stream:
            events = list(result)  # type: ignore[arg-type]
            assert events[-1].type == "response.completed"
            text = events[-1].response.output_text
            # the final event was found by its name (OpenAI names each event) and charged
            usage: Any = events[-1].response.usage
            assert (usage.model_extra or {}).get("cost_points", 0) > 0, usage
        else:
            text = result.output_text  # type: ignore[union-attr]
        assert text == "You said: hello"
        sent = capture.bodies[-1]
        assert received(fake_openai) == {**sent, "model": "up-openai-responses"}


def test_responses_upstream_400_reaches_the_client_as_sent(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    fake_openai.faults.status, fake_openai.faults.message = 400, REFUSAL
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="via-openai-responses", input="hi")
    body: Any = caught.value.body
    assert caught.value.status_code == 400 and body["message"] == REFUSAL


def test_anthropic_forwards_unknown_fields_blocks_tools_and_betas(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, capture: Capture
) -> None:
    gateway, key = matrix
    client = anthropic.Anthropic(
        base_url=gateway.url, api_key=key, max_retries=0, http_client=capture.client(httpx2)
    )
    messages: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}},
                {"type": "x_future_block", "data": {"k": 1}},
            ],
        }
    ]
    tools: Any = [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
        {"type": "x_future_tool_20991231", "name": "future"},
        {"name": "get_weather", "input_schema": WEATHER},
    ]
    extra = {
        "x_unknown_field": [1],
        "context_management": {"edits": []},
        "output_config": {"effort": "high"},
        "top_k": 5,
    }
    betas = {"anthropic-beta": "x-future-2099-01-01,interleaved-thinking-2025-05-14"}
    for stream in (False, True):
        if stream:
            with client.messages.stream(
                model="via-anthropic",
                max_tokens=200,
                messages=messages,
                tools=tools,
                system=[{"type": "text", "text": "be brief"}],
                thinking={"type": "enabled", "budget_tokens": 1024},
                metadata={"user_id": "u-1"},
                extra_body=extra,
                extra_headers=betas,
            ) as events:
                text = "".join(events.text_stream)
        else:
            message = client.messages.create(
                model="via-anthropic",
                max_tokens=200,
                messages=messages,
                tools=tools,
                system=[{"type": "text", "text": "be brief"}],
                thinking={"type": "enabled", "budget_tokens": 1024},
                metadata={"user_id": "u-1"},
                extra_body=extra,
                extra_headers=betas,
            )
            text = "".join(b.text for b in message.content if b.type == "text")
            assert message.model == "via-anthropic"
        assert text == "You said: hello"
        sent = capture.bodies[-1]
        assert received(fake_openai) == {**sent, "model": "up-anthropic"}
        headers = {k.lower(): v for k, v in fake_openai.requests[-1].headers.items()}
        assert headers["anthropic-beta"] == betas["anthropic-beta"]
        assert headers["anthropic-version"] == capture.headers[-1]["anthropic-version"]


def test_anthropic_upstream_400_reaches_the_client_as_sent(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    fake_openai.faults.status, fake_openai.faults.message = 400, REFUSAL
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="via-anthropic", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    body: Any = caught.value.body
    assert caught.value.status_code == 400
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"] == REFUSAL


def _gemini(gateway: GatewayProcess, key: str, capture: Capture | None = None) -> genai.Client:
    options = types.HttpOptions(
        base_url=gateway.url,
        extra_body={"x_unknown_field": {"a": 1}},
        httpx_client=capture.client() if capture else None,
    )
    return genai.Client(api_key=key, http_options=options)


def test_gemini_forwards_unknown_fields_parts_and_settings(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, capture: Capture
) -> None:
    gateway, key = matrix
    client = _gemini(gateway, key, capture)
    config = types.GenerateContentConfig(
        system_instruction="be brief",
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
        top_k=12,
        candidate_count=1,
        tools=[
            types.Tool(google_search=types.GoogleSearch()),
            types.Tool(code_execution=types.ToolCodeExecution()),
        ],
        thinking_config=types.ThinkingConfig(thinking_budget=256, include_thoughts=True),
    )
    answer = client.models.generate_content(model="via-gemini", contents="hello", config=config)
    assert answer.text == "You said: hello"
    sent = capture.bodies[-1]
    assert received(fake_openai) == sent  # the model is in the URL, rewritten there
    assert fake_openai.requests[-1].path.endswith("/models/up-gemini:generateContent")
    assert sent["x_unknown_field"] == {"a": 1} and "safetySettings" in sent
    chunks = list(
        client.models.generate_content_stream(model="via-gemini", contents="hello", config=config)
    )
    assert "".join(c.text or "" for c in chunks) == "You said: hello"
    assert received(fake_openai) == capture.bodies[-1]


def test_gemini_upstream_400_reaches_the_client_as_sent(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    fake_openai.faults.status, fake_openai.faults.message = 400, REFUSAL
    client = _gemini(gateway, key)  # held: a collected client closes its connections
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="via-gemini", contents="hi")
    assert caught.value.code == 400
    assert caught.value.message == REFUSAL and caught.value.status == "INVALID_ARGUMENT"


def test_gemini_stream_without_sse_is_one_json_array_of_the_upstream_chunks(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}], "x_unknown": 1}
    answer = httpx.post(
        gateway.url + "/v1beta/models/via-gemini:streamGenerateContent",
        headers={"x-goog-api-key": key},
        json=body,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    chunks = answer.json()
    assert isinstance(chunks, list) and len(chunks) > 1
    text = "".join(
        p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"]
    )
    assert text == "You said: hello"
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] > 0
    assert received(fake_openai) == body
    assert fake_openai.requests[-1].path.endswith(":streamGenerateContent")
