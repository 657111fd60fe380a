"""The 4 × 5 matrix: every client protocol (official SDK) against every upstream kind (a real
loopback server speaking that protocol, or the in-process echo): text, streamed text, a
two-turn tool call, image input, structured output, and usage reported and charged."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fake_openai import FakeOpenAI
from tests.integration.clients import DRIVERS, KINDS
from tests.servers import GatewayProcess

CASES = [(d, k) for d in DRIVERS for k in KINDS]
IDS = [f"{d.name}->{k}" for d, k in CASES]


def said(kind: str, prompt: str) -> str:
    return prompt if kind == "echo" else f"You said: {prompt}"


def last_charge(gateway: GatewayProcess, key: str) -> dict[str, object]:
    return httpx.get(
        gateway.url + "/usage/points_history",
        params={"limit": 1},
        headers={"authorization": f"Bearer {key}"},
    ).json()["data"][0]


@pytest.mark.parametrize(("driver", "kind"), CASES, ids=IDS)
def test_text(matrix: tuple[GatewayProcess, str], driver: type, kind: str) -> None:
    gateway, key = matrix
    reply = driver(gateway.url, key).text(f"via-{kind}", "hello there matrix")
    assert reply.text == said(kind, "hello there matrix")
    assert reply.input_tokens > 0 and reply.output_tokens > 0
    charge = last_charge(gateway, key)
    assert charge["bot"] == f"via-{kind}"
    assert charge["cost_points"] == reply.input_tokens + 2 * reply.output_tokens


@pytest.mark.parametrize(("driver", "kind"), CASES, ids=IDS)
def test_streamed_text(matrix: tuple[GatewayProcess, str], driver: type, kind: str) -> None:
    gateway, key = matrix
    reply = driver(gateway.url, key).text(f"via-{kind}", "stream this please", stream=True)
    assert reply.text == said(kind, "stream this please")
    assert reply.output_tokens > 0
    charge = last_charge(gateway, key)
    assert charge["bot"] == f"via-{kind}" and charge["cost_points"] > 0


@pytest.mark.parametrize(("driver", "kind"), CASES, ids=IDS)
def test_two_turn_tool_call(matrix: tuple[GatewayProcess, str], driver: type, kind: str) -> None:
    gateway, key = matrix
    args = '{"city": "Paris"}'
    prompt = f"!tool get_weather {args}" if kind == "echo" else f"call get_weather {args}"
    first, second = driver(gateway.url, key).tool_turns(f"via-{kind}", prompt, "sunny and 21C")
    assert first.call is not None
    assert first.call[1] == "get_weather" and first.call[2] == {"city": "Paris"}
    expected = "Tool result: sunny and 21C" if kind == "echo" else "Tool said: sunny and 21C"
    assert second.text == expected


@pytest.mark.parametrize(("driver", "kind"), CASES, ids=IDS)
def test_image_input(
    matrix: tuple[GatewayProcess, str], driver: type, kind: str, fake_openai: FakeOpenAI
) -> None:
    gateway, key = matrix
    reply = driver(gateway.url, key).image(f"via-{kind}", "what is this")
    if kind == "echo":
        assert reply.text == "what is this"
    else:
        assert reply.text == "You said: what is this [image]"
        sent = json.dumps(fake_openai.requests[-1].body)
        assert "iVBORw0KGgo" in sent  # the image bytes reached the upstream


STRUCTURED = [(d, k) for d, k in CASES if d.structured is not None and k != "anthropic"]


@pytest.mark.parametrize(
    ("driver", "kind"), STRUCTURED, ids=[f"{d.name}->{k}" for d, k in STRUCTURED]
)
def test_structured_output(matrix: tuple[GatewayProcess, str], driver: type, kind: str) -> None:
    gateway, key = matrix
    reply = driver(gateway.url, key).structured(f"via-{kind}", "give json")
    data = json.loads(reply.text)
    assert data == ({"echo": "give json"} if kind == "echo" else {"answer": "You said: give json"})
