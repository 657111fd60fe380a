"""Each protocol's official SDK call with every optional parameter its API reference documents,
sent to each of the five upstream kinds, gets a valid answer: same-protocol upstreams receive
the parameters as sent, translated ones have them mapped or dropped (docs/translation.md) —
never a 400 of the gateway's own."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from tests.fake_openai import FakeOpenAI
from tests.integration.clients import KINDS, PNG
from tests.servers import GatewayProcess

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
ANSWER = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()


def chat_parameters() -> dict[str, Any]:
    return {
        "messages": [
            {"role": "developer", "content": "Answer briefly."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hello there"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": f"data:application/pdf;base64,{PDF}",
                            "filename": "a.pdf",
                        },
                    },
                ],
            },
            {"role": "assistant", "content": "Noted."},
            {"role": "system", "content": "Keep it short."},
            {"role": "user", "content": "hello again"},
        ],
        "audio": {"voice": "alloy", "format": "wav"},
        "frequency_penalty": 0.1,
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "top_logprobs": 2,
        "max_completion_tokens": 300,
        "metadata": {"run": "every-parameter"},
        "modalities": ["text"],
        "moderation": {"model": "omni-moderation-latest"},
        "n": 1,
        "parallel_tool_calls": True,
        "prediction": {"type": "content", "content": "hello"},
        "presence_penalty": 0.1,
        "prompt_cache_key": "every-parameter",
        "prompt_cache_options": {"mode": "implicit"},
        "prompt_cache_retention": "24h",
        "reasoning_effort": "low",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": ANSWER, "strict": True},
        },
        "safety_identifier": "user-1",
        "seed": -42,
        "service_tier": "auto",
        "stop": ["\n\n\n\n"],
        "store": False,
        "temperature": 0.5,
        "tool_choice": "auto",
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": WEATHER, "strict": True},
            },
            {"type": "custom", "custom": {"name": "apply_patch", "description": "edit files"}},
        ],
        "top_p": 0.9,
        "user": "user-1",
        "verbosity": "low",
        "web_search_options": {"search_context_size": "low"},
    }


def responses_parameters() -> dict[str, Any]:
    return {
        "input": [
            {"type": "message", "role": "developer", "content": "Answer briefly."},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "hello there"},
                    {
                        "type": "input_image",
                        "image_url": f"data:image/png;base64,{PNG}",
                        "detail": "low",
                    },
                    {
                        "type": "input_file",
                        "file_data": f"data:application/pdf;base64,{PDF}",
                        "filename": "a.pdf",
                    },
                ],
            },
        ],
        "background": False,
        "context_management": [{"type": "compaction", "compact_threshold": 100000}],
        "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
        "instructions": "You are terse.",
        "max_output_tokens": 300,
        "max_tool_calls": 3,
        "metadata": {"run": "every-parameter"},
        "moderation": {"model": "omni-moderation-latest"},
        "parallel_tool_calls": True,
        "prompt_cache_key": "every-parameter",
        "prompt_cache_retention": "24h",
        "reasoning": {"effort": "low", "summary": "auto"},
        "safety_identifier": "user-1",
        "service_tier": "auto",
        "store": False,
        "temperature": 0.5,
        "text": {
            "format": {"type": "json_schema", "name": "answer", "schema": ANSWER, "strict": True},
            "verbosity": "low",
        },
        "tool_choice": "auto",
        "tools": [
            {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True},
            {"type": "custom", "name": "apply_patch", "description": "edit files"},
            {
                "type": "namespace",
                "name": "fs",
                "description": "files",
                "tools": [{"type": "function", "name": "read", "parameters": {"type": "object"}}],
            },
            {"type": "web_search"},
        ],
        "top_logprobs": 2,
        "top_p": 0.9,
        "truncation": "auto",
        "user": "user-1",
    }


def anthropic_parameters() -> dict[str, Any]:
    return {
        "max_tokens": 2048,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hello there", "cache_control": {"type": "ephemeral"}},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    },
                ],
            },
            {"role": "assistant", "content": "Noted."},
            {"role": "system", "content": "Keep it short."},
            {"role": "user", "content": "hello again"},
        ],
        "cache_control": {"type": "ephemeral"},
        "metadata": {"user_id": "user-1"},
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": ANSWER}},
        "service_tier": "auto",
        "stop_sequences": ["\n\n\n\n"],
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
        ],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
        "tools": [
            {"name": "get_weather", "description": "the weather", "input_schema": WEATHER},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 1},
        ],
        "extra_body": {"temperature": 1, "top_k": 5, "top_p": 0.99},
    }


def gemini_config() -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction="You are terse.",
        temperature=0.5,
        top_p=0.9,
        top_k=20,
        candidate_count=1,
        max_output_tokens=300,
        stop_sequences=["\n\n\n\n"],
        response_logprobs=True,
        logprobs=2,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        seed=-3,
        response_mime_type="application/json",
        response_json_schema=ANSWER,
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER)
                ]
            )
        ],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.AUTO
            )
        ),
        response_modalities=["TEXT"],
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        thinking_config=types.ThinkingConfig(thinking_budget=512, include_thoughts=True),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_chat_completions_with_every_parameter(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    answer = client.chat.completions.create(model=f"via-{kind}", **chat_parameters())
    message = answer.choices[0].message
    assert message.content and "hello again" in message.content, answer
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    if kind == "openai":  # same protocol: every parameter reached the upstream as sent
        sent = fake_openai.requests[-1].body
        assert {k: v for k, v in sent.items() if k != "model"} == chat_parameters()
    chunks = list(
        client.chat.completions.create(
            model=f"via-{kind}",
            stream=True,
            stream_options={"include_usage": True, "include_obfuscation": False},
            **chat_parameters(),
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("kind", KINDS)
def test_responses_with_every_parameter(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    answer = client.responses.create(model=f"via-{kind}", **responses_parameters())
    assert answer.status == "completed" and "hello there" in answer.output_text, answer
    if kind == "openai-responses":
        sent = fake_openai.requests[-1].body
        assert {k: v for k, v in sent.items() if k != "model"} == responses_parameters()
    events = list(
        client.responses.create(model=f"via-{kind}", stream=True, **responses_parameters())
    )
    assert events[-1].type == "response.completed"
    assert "hello there" in events[-1].response.output_text


@pytest.mark.parametrize("kind", KINDS)
def test_anthropic_messages_with_every_parameter(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    gateway, key = matrix
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    message = client.messages.create(model=f"via-{kind}", **anthropic_parameters())
    text = "".join(b.text for b in message.content if b.type == "text")
    assert "hello again" in text, message
    assert message.usage.output_tokens > 0
    if kind == "anthropic":
        sent = fake_openai.requests[-1].body
        expected = {k: v for k, v in anthropic_parameters().items() if k != "extra_body"}
        expected.update(anthropic_parameters()["extra_body"])
        assert {k: v for k, v in sent.items() if k != "model"} == expected
    with client.messages.stream(model=f"via-{kind}", **anthropic_parameters()) as stream:
        streamed = "".join(stream.text_stream)
    assert "hello again" in streamed


@pytest.mark.parametrize("kind", KINDS)
def test_gemini_generate_content_with_every_parameter(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    gateway, key = matrix
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url))
    contents = [
        types.Content(
            role="user",
            parts=[
                types.Part(text="hello there"),
                types.Part.from_bytes(data=base64.b64decode(PNG), mime_type="image/png"),
            ],
        )
    ]
    answer = client.models.generate_content(
        model=f"via-{kind}", contents=contents, config=gemini_config()
    )
    assert answer.text and "hello there" in answer.text, answer
    assert answer.usage_metadata is not None
    chunks = list(
        client.models.generate_content_stream(
            model=f"via-{kind}", contents=contents, config=gemini_config()
        )
    )
    assert "hello there" in "".join(c.text or "" for c in chunks)
