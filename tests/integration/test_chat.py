"""Chat Completions through the real server with the official openai SDK."""

from __future__ import annotations

import openai
import pytest

from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess


@pytest.fixture
def client(gateway: GatewayProcess, user_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.openai_base, api_key=user_key, max_retries=0)


def test_echo_answers_non_streaming(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "hello there, gateway"}]
    )
    assert answer.choices[0].message.content == "hello there, gateway"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "echo"
    assert answer.usage is not None and answer.usage.completion_tokens == 4  # hello|there|,|gateway
    assert answer.usage.prompt_tokens > 0


def test_echo_streams_token_by_token(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="echo",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "one two three four"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 4
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_echo_honours_max_tokens(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="echo", max_tokens=2, messages=[{"role": "user", "content": "a b c d e"}]
    )
    assert answer.choices[0].message.content == "a b"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 2


def test_echo_tool_call_trigger_and_result(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    first = client.chat.completions.create(
        model="echo",
        tools=tools,
        messages=[{"role": "user", "content": 'weather? !tool get_weather {"city": "Paris"}'}],
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "Paris"}'
    second = client.chat.completions.create(
        model="echo",
        tools=tools,
        messages=[
            {"role": "user", "content": "weather? !tool get_weather"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
        ],
    )
    assert second.choices[0].message.content == "Tool result: sunny, 21C"


def test_echo_streams_tool_call(client: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    stream = client.chat.completions.create(
        model="echo",
        stream=True,
        tools=tools,
        messages=[{"role": "user", "content": '!tool lookup {"q": 1}'}],
    )
    chunks = list(stream)
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "lookup"
    assert "".join(d.function.arguments or "" for d in deltas) == '{"q": 1}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_upstream_non_streaming(
    client: openai.OpenAI, fake_openai: FakeOpenAI, user_key: str
) -> None:
    answer = client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "ping pong"}],
        temperature=0.2,
        extra_body={"logit_bias": {"50256": -100}},
    )
    assert answer.choices[0].message.content == "You said: ping pong"
    assert answer.model == "gpt-test"
    assert answer.usage is not None and answer.usage.completion_tokens == 4
    seen = fake_openai.requests[-1]
    assert seen.body["model"] == "upstream-gpt-9"
    assert seen.body["temperature"] == 0.2
    assert seen.body["logit_bias"] == {"50256": -100}  # unknown fields pass through
    assert seen.headers["Authorization"] == f"Bearer {fake_openai.api_key}"
    assert user_key not in str(seen.headers)


def test_upstream_cookies_are_never_replayed(
    client: openai.OpenAI, fake_openai: FakeOpenAI
) -> None:
    """One shared connection pool serves every user: a cookie an upstream sets must not ride
    along on the next call (someone else's), nor reach the client. (On a loopback IP address
    aiohttp's default jar would refuse the cookie anyway; the gateway keeps no jar at all.)"""
    fake_openai.faults.set_cookie = True
    try:
        for _ in range(2):
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-test", messages=[{"role": "user", "content": "hello"}]
            )
            assert "set-cookie" not in raw.headers
        seen = fake_openai.requests[-2:]
    finally:
        fake_openai.reset()
    assert all("Cookie" not in r.headers for r in seen)
    assert seen[-1].headers["User-Agent"] == "patchbay"


def test_openai_upstream_streaming(client: openai.OpenAI, fake_openai: FakeOpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-test",
        stream=True,
        messages=[{"role": "user", "content": "stream me"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: stream me"
    assert all(c.model == "gpt-test" for c in chunks)
    assert all(c.usage is None for c in chunks)  # the client did not ask for usage
    seen = fake_openai.requests[-1].body
    assert seen["model"] == "upstream-gpt-9"
    assert seen["stream_options"] == {"include_usage": True}  # the gateway meters streams


def test_openai_upstream_streaming_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-test",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "count these words"}],
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_upstream_key_not_in_sqlite_file(
    gateway: GatewayProcess, fake_openai: FakeOpenAI, user_key: str
) -> None:
    for path in gateway.data_dir.glob("patchbay.db*"):
        content = path.read_bytes()
        assert fake_openai.api_key.encode() not in content
        assert user_key.encode() not in content
    assert fake_openai.api_key not in gateway.log()
