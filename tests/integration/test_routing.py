"""Routing against the real server: a failing route is cooled down and probed back, an
upstream's Retry-After is kept, every route cooling down is a clean 503, concurrency caps,
and route health shared by two instances through Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from cryptography.fernet import Fernet

from tests.conftest import REDIS_URL, require_service
from tests.fake_openai import FakeOpenAI, start_fake_openai
from tests.servers import GatewayProcess, start_gateway

MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def flaky() -> Iterator[FakeOpenAI]:
    fake, stop = start_fake_openai()
    yield fake
    stop()


def config(flaky: FakeOpenAI, good: FakeOpenAI, extra: str = "", cooldown: float = 1.0) -> str:
    return f"""
[routing]
breaker_failures = 3
breaker_cooldown_s = {cooldown}
breaker_max_cooldown_s = 8
{extra}

[[providers]]
name = "flaky"
kind = "openai"
base_url = "{flaky.base_url}"
api_key = "{flaky.api_key}"
timeout_s = 5

[[providers]]
name = "good"
kind = "openai"
base_url = "{good.base_url}"
api_key = "{good.api_key}"
timeout_s = 5

[[models]]
id = "failover"
strategy = "ordered"
routes = [ {{ provider = "flaky", model = "f" }}, {{ provider = "good", model = "g" }} ]

[[models]]
id = "only-flaky"
routes = [ {{ provider = "flaky", model = "f" }} ]

[[models]]
id = "capped"
strategy = "ordered"
routes = [
  {{ provider = "flaky", model = "f", max_concurrency = 1 }},
  {{ provider = "good", model = "g" }},
]
"""


def key_for(gateway: GatewayProcess) -> str:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "router", "points": 10**9})
        assert account.status_code in (201, 409), account.text
        if account.status_code == 409:
            account = admin.get("/admin/accounts/router")
        key = admin.post(
            f"/admin/accounts/{account.json()['id']}/keys", json={"name": "k", "rpm": 10**6}
        )
        return str(key.json()["key"])


def route(gateway: GatewayProcess, model: str, provider: str) -> dict[str, Any]:
    with gateway.admin() as admin:
        routes = admin.get("/admin/routes").json()["data"]
    return next(r for r in routes if r["model"] == model and r["provider"] == provider)


def chat(gateway: GatewayProcess, key: str, model: str) -> httpx.Response:
    return httpx.post(
        gateway.openai_base + "/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": MESSAGES},
        timeout=15,
    )


@pytest.fixture
def gateway(tmp_path: Path, flaky: FakeOpenAI, fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    process = start_gateway(tmp_path / "gw", config=config(flaky, fake_openai))
    yield process
    process.stop()


def test_a_failing_route_is_cooled_down_and_probed_back(
    gateway: GatewayProcess, flaky: FakeOpenAI, fake_openai: FakeOpenAI
) -> None:
    key = key_for(gateway)
    flaky.faults.status = 503
    for _ in range(10):
        assert chat(gateway, key, "failover").status_code == 200  # the good route answers
    assert len(flaky.requests) == 3  # tried three times, then cooled down (was: 10 of 10)
    assert len(fake_openai.requests) == 10
    health = route(gateway, "failover", "flaky")
    assert health["state"] == "open" and health["consecutive_failures"] == 3
    assert health["cooldown_until"] is not None
    time.sleep(1.2)  # the cooldown is over: the next call probes the route, which still fails
    assert chat(gateway, key, "failover").status_code == 200
    assert len(flaky.requests) == 4
    assert route(gateway, "failover", "flaky")["state"] == "open"  # reopened, for 2 s now
    assert chat(gateway, key, "failover").status_code == 200
    assert len(flaky.requests) == 4
    flaky.reset()  # the route recovers; after the longer cooldown a probe closes it
    time.sleep(2.3)
    assert chat(gateway, key, "failover").status_code == 200
    assert len(flaky.requests) == 1 and route(gateway, "failover", "flaky")["state"] == "closed"
    assert chat(gateway, key, "failover").status_code == 200
    assert len(flaky.requests) == 2  # first in order again


def test_retry_after_is_respected_and_no_route_left_is_a_clean_503(
    gateway: GatewayProcess, flaky: FakeOpenAI
) -> None:
    key = key_for(gateway)
    flaky.faults.status, flaky.faults.retry_after = 429, "4"
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model="only-flaky", messages=MESSAGES)  # type: ignore[arg-type]
    until = route(gateway, "only-flaky", "flaky")["cooldown_until"]
    from datetime import datetime

    assert datetime.fromisoformat(until).timestamp() - time.time() > 2.5  # 4 s, not 1 s
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="only-flaky", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 503
    assert int(caught.value.response.headers["retry-after"]) >= 2
    assert len(flaky.requests) == 3  # the fourth call did not reach the cooling route


def test_a_route_at_its_concurrency_cap_is_skipped(
    gateway: GatewayProcess, flaky: FakeOpenAI, fake_openai: FakeOpenAI
) -> None:
    key = key_for(gateway)
    flaky.faults.delay_s = 1.0  # the capped route is slow: the second call goes elsewhere
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(chat(gateway, key, "capped").status_code)
    )
    first.start()
    time.sleep(0.4)
    assert chat(gateway, key, "capped").status_code == 200
    first.join()
    assert results == [200]
    assert len(flaky.requests) == 1 and len(fake_openai.requests) == 1


@pytest.mark.redis
def test_route_health_is_shared_by_instances_through_redis(
    tmp_path: Path, flaky: FakeOpenAI, fake_openai: FakeOpenAI
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    secret = Fernet.generate_key().decode()  # instances on one database share the secret
    extra = (
        f'[storage]\nredis_url = "{REDIS_URL}"\n'
        f'database_url = "sqlite+aiosqlite:///{tmp_path}/shared.db"\n'
        f'[security]\nsecret_key = "{secret}"\n'
    )
    one = start_gateway(tmp_path / "one", config=config(flaky, fake_openai, extra, cooldown=20))
    two = start_gateway(tmp_path / "two", config=config(flaky, fake_openai, extra, cooldown=20))
    try:
        key = key_for(one)
        flaky.faults.status = 503
        for _ in range(3):
            assert chat(one, key, "failover").status_code == 200
        assert len(flaky.requests) == 3
        time.sleep(1.0)  # two syncs of the shared health
        assert route(two, "failover", "flaky")["state"] == "open"
        assert chat(two, key, "failover").status_code == 200
        assert len(flaky.requests) == 3  # the other instance skipped the open route
    finally:
        one.stop()
        two.stop()
