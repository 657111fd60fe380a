"""What the agent CLIs and the SDKs' own tests need beyond chat: token counting, stored
responses readable the moment they are answered, Gemini function calls round-tripping through
upstreams of every kind, and answers without usage counted by the gateway."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from patchbay.accounting import bpe
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PROMPT = "How warm is it in Paris today, roughly?"


def history(gateway: GatewayProcess, key: str) -> list[dict[str, Any]]:
    response = httpx.get(
        gateway.url + "/usage/points_history?limit=100",
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["data"])


# ---------- count_tokens


def test_anthropic_count_tokens_forwarded_to_anthropic_and_counted_elsewhere(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    client = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    before = len(history(gateway, key))
    messages: Any = [{"role": "user", "content": PROMPT}]
    counted = client.messages.count_tokens(model="via-anthropic", messages=messages)
    assert fake_openai.requests[-1].path == "/v1/messages/count_tokens"
    assert fake_openai.requests[-1].body["model"] == "up-anthropic"
    assert counted.input_tokens == len(PROMPT.split())  # the fake counts words
    for kind in ("openai", "gemini", "echo"):
        seen = len(fake_openai.requests)
        local = client.messages.count_tokens(
            model=f"via-{kind}", messages=messages, system="Be brief."
        )
        assert len(fake_openai.requests) == seen  # counted here, not upstream
        assert local.input_tokens == bpe.count_many(["Be brief.", PROMPT]) + 3
    assert len(history(gateway, key)) == before  # counting is not charged
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="no-such-model", messages=messages)
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            base_url=gateway.url, api_key="pb-wrong", max_retries=0
        ).messages.count_tokens(model="via-anthropic", messages=messages)


def test_gemini_count_tokens_forwarded_to_gemini_and_counted_elsewhere(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url))
    counted = client.models.count_tokens(model="via-gemini", contents=PROMPT)
    assert fake_openai.requests[-1].path.endswith("/models/up-gemini:countTokens")
    assert counted.total_tokens == len(PROMPT.split())
    seen = len(fake_openai.requests)
    local = client.models.count_tokens(model="via-anthropic", contents=PROMPT)
    assert len(fake_openai.requests) == seen
    assert local.total_tokens == bpe.count(PROMPT) + 3


# ---------- stored responses: readable the moment the client has the answer


@pytest.mark.parametrize("kind", ["openai-responses", "anthropic", "echo"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_stored_response_is_found_at_once(
    matrix: tuple[GatewayProcess, str], kind: str, stream: bool
) -> None:
    gateway, key = matrix
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    for turn in range(8):  # no pause between the answer and the reads
        if stream:
            events = list(
                client.responses.create(model=f"via-{kind}", input=f"turn {turn}", stream=True)
            )
            answer_id = events[-1].response.id
        else:
            answer_id = client.responses.create(model=f"via-{kind}", input=f"turn {turn}").id
        assert client.responses.retrieve(answer_id).id == answer_id
        follow = client.responses.create(
            model=f"via-{kind}", input="and now?", previous_response_id=answer_id
        )
        assert follow.output_text


# ---------- Gemini function calls through upstreams of every kind


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic", "gemini", "echo"])
@pytest.mark.parametrize("ids", ["none", "both", "call only"])
def test_gemini_function_call_round_trip(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str, ids: str
) -> None:
    """The client keeps the call's id and answers without one (as the SDK's own helpers
    do), keeps both, or drops both: the result finds its call on every upstream kind."""
    gateway, key = matrix
    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url))
    declaration = types.FunctionDeclaration(
        name="get_weather", description="the weather", parameters_json_schema=WEATHER
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    prompt = (
        '!tool get_weather {"city": "Paris"}'
        if kind == "echo"
        else 'call get_weather {"city": "Paris"}'
    )
    first = client.models.generate_content(model=f"via-{kind}", contents=prompt, config=config)
    call = first.function_calls[0] if first.function_calls else None
    assert call is not None and call.name == "get_weather", first
    assert dict(call.args or {}) == {"city": "Paris"}
    model_turn = first.candidates[0].content
    if ids == "none":  # the client drops the ids, as hand-written code does
        for part in model_turn.parts or []:
            if part.function_call:
                part.function_call.id = None
    answer = types.Part.from_function_response(
        name="get_weather", response={"content": "sunny, 24C"}
    )
    if ids == "both":
        answer.function_response.id = call.id
    second = client.models.generate_content(
        model=f"via-{kind}",
        contents=[
            types.Content(role="user", parts=[types.Part(text=prompt)]),
            model_turn,
            types.Content(role="user", parts=[answer]),
        ],
        config=config,
    )
    assert "sunny, 24C" in (second.text or ""), second
    if kind != "echo":  # the upstream saw the call and its result paired by one id
        calls, results = pairing(kind, fake_openai.requests[-1].body)
        assert calls and calls == results, (calls, results)


def pairing(kind: str, body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The call ids and the result ids an upstream request carries, in order."""
    calls: list[str] = []
    results: list[str] = []
    if kind == "openai":
        for m in body["messages"]:
            calls += [c["id"] for c in m.get("tool_calls") or []]
            if m["role"] == "tool":
                results.append(m["tool_call_id"])
    elif kind == "openai-responses":
        calls = [i["call_id"] for i in body["input"] if i.get("type") == "function_call"]
        results = [i["call_id"] for i in body["input"] if i.get("type") == "function_call_output"]
    elif kind == "anthropic":
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else []:
                if b["type"] == "tool_use":
                    calls.append(b["id"])
                elif b["type"] == "tool_result":
                    results.append(b["tool_use_id"])
    else:  # gemini pairs by name
        for c in body["contents"]:
            for p in c["parts"]:
                if "functionCall" in p:
                    calls.append(p["functionCall"]["name"])
                if "functionResponse" in p:
                    results.append(p["functionResponse"]["name"])
    return calls, results


# ---------- answers without usage


@pytest.mark.parametrize(
    ("kind", "protocol"),
    [
        ("openai", "chat"),
        ("anthropic", "chat"),
        ("openai-responses", "responses"),
        ("anthropic", "anthropic"),
        ("gemini", "gemini"),
        ("gemini", "chat"),
    ],
)
def test_an_answer_without_usage_is_counted_and_marked_estimated(
    matrix: tuple[GatewayProcess, str], fake_openai: FakeOpenAI, kind: str, protocol: str
) -> None:
    gateway, key = matrix
    fake_openai.faults.no_usage = True
    model = f"via-{kind}"
    if protocol == "chat":
        openai.OpenAI(
            base_url=gateway.openai_base, api_key=key, max_retries=0
        ).chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    elif protocol == "responses":
        openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0).responses.create(
            model=model, input=PROMPT, store=False
        )
    elif protocol == "anthropic":
        anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0).messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
        )
    else:
        client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url))
        client.models.generate_content(model=model, contents=PROMPT)  # client held: see above
    entry = history(gateway, key)[0]
    assert entry["bot"] == model
    breakdown = entry["cost_breakdown"]
    assert breakdown.get("estimated") is True, entry
    answer_tokens = bpe.count("You said: " + PROMPT)
    assert breakdown["tokens"]["completion"] == answer_tokens
    assert breakdown["tokens"]["prompt"] >= bpe.count(PROMPT)
    assert entry["cost_points"] > 0
