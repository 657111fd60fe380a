from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, start_fake_openai
from tests.servers import GatewayProcess, start_gateway

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "PATCHBAY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PATCHBAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip visibly outside CI when a service is absent; under CI=true, fail instead."""
    if reachable(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is unreachable and CI=true requires it")
    pytest.skip(f"{name} at {host}:{port} is unreachable (set CI=true to make this fail)")


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake, stop = start_fake_openai()
    yield fake
    stop()


@pytest.fixture(autouse=True)
def _reset_fake(request: pytest.FixtureRequest) -> None:
    if "fake_openai" in request.fixturenames:
        request.getfixturevalue("fake_openai").reset()


def gateway_config(fake: FakeOpenAI) -> str:
    return f"""
[server]
max_body_bytes = 1048576

[[providers]]
name = "nowhere"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-nowhere"

[[models]]
id = "unreachable"
routes = [ {{ provider = "nowhere", model = "x" }} ]

[[providers]]
name = "upstream-openai"
kind = "openai"
base_url = "{fake.base_url}"
api_key = "{fake.api_key}"
timeout_s = 2

[[models]]
id = "gpt-test"
owned_by = "OpenAI"
description = "a test model behind the fake upstream"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "upstream-openai", model = "upstream-gpt-9", weight = 1 }} ]
"""


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    data_dir: Path = tmp_path_factory.mktemp("gateway")
    process = start_gateway(data_dir, config=gateway_config(fake_openai))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def user_key(gateway: GatewayProcess) -> str:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "tester", "points": 1_000_000})
        account.raise_for_status()
        key = admin.post(f"/admin/accounts/{account.json()['id']}/keys", json={"name": "main"})
        key.raise_for_status()
        return str(key.json()["key"])
