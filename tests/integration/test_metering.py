"""Metering against the real server, on SQLite and PostgreSQL: prices by kind, points, ledger,
concurrency, disconnects, history pagination."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from tests.conftest import require_service
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess, start_gateway
from tests.support import ledger_consistency, scratch_postgres

# points_per_usd = 100000: a prompt token costs 1 point, a completion token 2, a call 10
PRICED = """
[[models]]
id = "priced-echo"
pricing = {{ prompt = "0.00001", completion = "0.00002", request = "0.0001" }}
routes = [ {{ provider = "echo", model = "echo" }} ]

[[providers]]
name = "fake"
kind = "openai"
base_url = "{base}"
api_key = "{key}"

[[models]]
id = "priced-upstream"
routes = [ {{ provider = "fake", model = "up" }} ]
[models.pricing]
prompt = "0.00001"
completion = "0.00002"
cache_read = "0.000001"
reasoning = "0.00004"
image = "0.00003"
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def metered(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_openai: FakeOpenAI,
) -> Iterator[tuple[GatewayProcess, str]]:
    config = PRICED.format(base=fake_openai.base_url, key=fake_openai.api_key)
    data_dir = tmp_path_factory.mktemp(f"metered-{request.param}")
    if request.param == "sqlite":
        gateway = start_gateway(data_dir, config=config)
        yield gateway, f"sqlite+aiosqlite:///{data_dir / 'patchbay.db'}"
        gateway.stop()
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_postgres() as url:
        gateway = start_gateway(data_dir, config=config, env={"PATCHBAY_DATABASE_URL": url})
        yield gateway, url
        gateway.stop()


def new_account(gateway: GatewayProcess, name: str, points: int, **key: object) -> str:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": name, "points": points}).json()
        created = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k", **key})
        return str(created.json()["key"])


def balance(gateway: GatewayProcess, key: str) -> int:
    response = httpx.get(
        gateway.url + "/usage/current_balance", headers={"authorization": f"Bearer {key}"}
    )
    return int(response.json()["current_point_balance"])


def history(gateway: GatewayProcess, key: str, **params: object) -> httpx.Response:
    return httpx.get(
        gateway.url + "/usage/points_history",
        params=params,
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )


def test_charges_by_price_kind(metered: tuple[GatewayProcess, str]) -> None:
    gateway, url = metered
    key = new_account(gateway, "kinds", 100_000)
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    answer = client.chat.completions.create(
        model="priced-echo", messages=[{"role": "user", "content": "one two three"}]
    )
    usage = answer.usage
    assert usage is not None
    expected = usage.prompt_tokens * 1 + usage.completion_tokens * 2 + 10
    extra = usage.model_extra or {}
    assert extra["cost_points"] == expected
    assert Decimal(str(extra["cost"])) == Decimal(expected) / 100_000
    assert balance(gateway, key) == 100_000 - expected
    # an upstream reporting cached, reasoning and image tokens
    reported = {
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 40, "image_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 20},
    }
    up = client.chat.completions.create(
        model="priced-upstream",
        messages=[{"role": "user", "content": "x"}],
        extra_body={"x_test_usage": reported},
    )
    # text in 50 × 1 + cached 40 × 0.1 + image 10 × 3 + text out 30 × 2 + reasoning 20 × 4
    assert (up.usage.model_extra or {})["cost_points"] == 50 + 4 + 30 + 60 + 80
    assert balance(gateway, key) == 100_000 - expected - 224
    entries = history(gateway, key).json()["data"]
    assert [e["bot"] for e in entries] == ["priced-upstream", "priced-echo"]
    breakdown = entries[0]["cost_breakdown"]
    assert breakdown["tokens"] == {
        "prompt": 50,
        "cache_read": 40,
        "image": 10,
        "completion": 30,
        "reasoning": 20,
    }
    assert breakdown["prices"]["reasoning"] == "0.00004"
    assert entries[0]["cost_usd"] == pytest.approx(0.00224)
    assert entries[0]["usage_type"] == "API" and entries[0]["api_key_name"] == "k"
    assert "chat_name" not in entries[0]
    ledger_consistency(url)


def test_streamed_calls_are_charged(metered: tuple[GatewayProcess, str]) -> None:
    gateway, url = metered
    key = new_account(gateway, "streamer", 10_000)
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="priced-echo",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "a b c"}],
        )
    )
    last = chunks[-1].usage
    assert last is not None
    points = (last.model_extra or {})["cost_points"]
    assert points == last.prompt_tokens + 2 * last.completion_tokens + 10
    assert balance(gateway, key) == 10_000 - points
    ledger_consistency(url)


def test_402_when_the_account_cannot_pay(metered: tuple[GatewayProcess, str]) -> None:
    gateway, _ = metered
    key = new_account(gateway, "broke", 0)
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="priced-echo", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 402
    assert caught.value.body["code"] == "insufficient_quota"  # type: ignore[index]
    free = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "free"}]
    )
    assert free.choices[0].message.content == "free"


async def _burst(gateway: GatewayProcess, key: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=gateway.openai_base, limits=limits, timeout=60) as client:

        async def one(i: int) -> int:
            response = await client.post(
                "/chat/completions",
                headers={"authorization": f"Bearer {key}"},
                json={
                    "model": "priced-echo",
                    "max_tokens": 4,
                    "messages": [{"role": "user", "content": f"request {i} a b c d e"}],
                },
            )
            return response.status_code

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def test_200_concurrent_requests_charged_once(metered: tuple[GatewayProcess, str]) -> None:
    gateway, url = metered
    key = new_account(gateway, "burst", 1_000_000, max_points=600)
    statuses = asyncio.run(_burst(gateway, key, 200))
    ok = statuses.count(200)
    assert set(statuses) <= {200, 402} and ok > 0 and statuses.count(402) > 0
    entries, cursor = [], None
    while True:
        page = history(gateway, key, limit=100, **({"starting_after": cursor} if cursor else {}))
        entries += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(entries) == ok == len({e["query_id"] for e in entries})
    spent = sum(e["cost_points"] for e in entries)
    assert 1_000_000 - balance(gateway, key) == spent
    one_hold = 150  # bound on one call's hold: body/4 prompt tokens + 4 output tokens
    assert spent <= 600 + one_hold
    ledger_consistency(url)


def test_disconnect_mid_stream_charges_what_was_produced(
    metered: tuple[GatewayProcess, str], fake_openai: FakeOpenAI
) -> None:
    gateway, url = metered
    key = new_account(gateway, "quitter", 10_000)
    fake_openai.faults.chunk_delay_s = 0.2
    words = " ".join(f"w{i}" for i in range(40))
    with httpx.stream(
        "POST",
        gateway.openai_base + "/chat/completions",
        timeout=30,
        headers={"authorization": f"Bearer {key}"},
        json={
            "model": "priced-upstream",
            "stream": True,
            "messages": [{"role": "user", "content": words}],
        },
    ) as response:
        seen = 0
        for line in response.iter_lines():
            if line.startswith("data:") and '"content"' in line:
                seen += 1
                if seen == 4:
                    break
    entries: list[dict[str, object]] = []
    for _ in range(50):
        entries = history(gateway, key).json()["data"]
        if entries:
            break
        asyncio.run(asyncio.sleep(0.1))
    assert len(entries) == 1
    breakdown = entries[0]["cost_breakdown"]
    assert breakdown["estimated"] is True  # type: ignore[index]
    produced = breakdown["tokens"]["completion"]  # type: ignore[index]
    assert 3 <= produced < 40
    ledger_consistency(url)


def test_history_pagination_and_bounds(metered: tuple[GatewayProcess, str]) -> None:
    gateway, _ = metered
    key = new_account(gateway, "pager", 10_000_000, rpm=100_000)

    async def fill() -> None:
        async with httpx.AsyncClient(base_url=gateway.openai_base, timeout=60) as client:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    r = await client.post(
                        "/chat/completions",
                        headers={"authorization": f"Bearer {key}"},
                        json={
                            "model": "priced-echo",
                            "messages": [{"role": "user", "content": "p"}],
                        },
                    )
                    assert r.status_code == 200

            await asyncio.gather(*(one(i) for i in range(1000)))

    asyncio.run(fill())
    seen: list[str] = []
    cursor = None
    while True:
        page = history(gateway, key, limit=100, **({"starting_after": cursor} if cursor else {}))
        body = page.json()
        seen += [e["query_id"] for e in body["data"]]
        cursor = body["next_cursor"]
        assert body["has_more"] == (cursor is not None)
        if cursor is None:
            break
    assert len(seen) == 1000 == len(set(seen)) and seen == sorted(seen, reverse=True)
    assert len(history(gateway, key).json()["data"]) == 20
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"starting_after": "q_nope"}):
        response = history(gateway, key, **bad)
        assert response.status_code == 400 and response.json()["error"]["param"] in (
            "limit",
            "starting_after",
        )


def test_402_in_each_protocol_envelope(metered: tuple[GatewayProcess, str]) -> None:
    gateway, _ = metered
    key = new_account(gateway, "broke-everywhere", 0)
    anthropic_reply = httpx.post(
        gateway.url + "/v1/messages",
        headers={"x-api-key": key},
        json={
            "model": "priced-echo",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert anthropic_reply.status_code == 402
    assert anthropic_reply.json()["error"]["type"] == "billing_error"
    gemini_reply = httpx.post(
        gateway.url + "/v1beta/models/priced-echo:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
    )
    assert gemini_reply.status_code == 402
    assert gemini_reply.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    responses_reply = httpx.post(
        gateway.url + "/v1/responses",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "priced-echo", "input": "x"},
    )
    assert responses_reply.status_code == 402
    assert responses_reply.json()["error"]["code"] == "insufficient_quota"
