"""Per-key rate limits against real servers: in-process, Redis shared by two instances and by
two workers, revocation across instances, and Redis outages."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, require_service
from tests.servers import GatewayProcess, free_port, start_gateway

BODY = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}


def make_key(gateway: GatewayProcess, **fields: object) -> dict[str, object]:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": f"a{time.time_ns()}"}).json()
        return admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "k", **fields}
        ).json()  # type: ignore[no-any-return]


def chat(gateway: GatewayProcess, key: object, body: object = BODY) -> httpx.Response:
    return httpx.post(
        gateway.openai_base + "/chat/completions",
        json=body,
        timeout=30,
        headers={"authorization": f"Bearer {key}"},
    )


def assert_rpm_five(gateway: GatewayProcess) -> None:
    key = make_key(gateway, rpm=5)["key"]
    responses = [chat(gateway, key) for _ in range(6)]
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    ok = responses[0]
    assert ok.headers["x-ratelimit-limit-requests"] == "5"
    assert ok.headers["x-ratelimit-remaining-requests"] == "4"
    assert ok.headers["x-ratelimit-reset-requests"]
    refused = responses[-1]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_in_process_rpm(gateway: GatewayProcess) -> None:
    assert_rpm_five(gateway)


def test_in_process_tpm_headers(gateway: GatewayProcess) -> None:
    key = make_key(gateway, rpm=100, tpm=600)["key"]
    words = {
        "model": "echo",
        "max_tokens": 150,
        "messages": [{"role": "user", "content": " ".join(["w"] * 100)}],
    }
    first = chat(gateway, key, words)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == "600"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 600
    # each call really uses ~200 tokens (the estimate is corrected to that after the call)
    second, third = chat(gateway, key, words), chat(gateway, key, words)
    assert second.status_code == 200 and third.status_code == 429  # 2 × ~210 + ~225 > 600
    assert "retry-after" in third.headers


@pytest.fixture
def redis_env() -> dict[str, str]:
    require_service("Redis", "127.0.0.1", 6379)
    return {"PATCHBAY_REDIS_URL": REDIS_URL}


def test_redis_rpm(tmp_path: Path, redis_env: dict[str, str]) -> None:
    gateway = start_gateway(tmp_path, env=redis_env)
    try:
        assert_rpm_five(gateway)
        assert httpx.get(gateway.url + "/readyz").json()["checks"]["redis"] == "ok"
    finally:
        gateway.stop()


def test_two_instances_share_one_limit_and_revocations(
    tmp_path: Path, redis_env: dict[str, str]
) -> None:
    first = start_gateway(tmp_path, env=redis_env)
    second = start_gateway(tmp_path, env=redis_env)  # same database, same Redis
    try:
        created = make_key(first, rpm=10)
        key = created["key"]
        statuses = [chat(g, key).status_code for _ in range(15) for g in (first, second)]
        assert statuses.count(200) == 10 and statuses.count(429) == 20
        other = make_key(first)
        assert chat(second, other["key"]).status_code == 200  # cached on the second instance
        with first.admin() as admin:
            assert admin.delete(f"/admin/keys/{other['id']}").status_code == 200
        revoked_at = time.monotonic()
        while chat(second, other["key"]).status_code != 401:
            assert time.monotonic() - revoked_at < 1.0, "revocation took more than a second"
            time.sleep(0.02)
    finally:
        first.stop()
        second.stop()


def test_two_workers_with_redis_are_exact(tmp_path: Path, redis_env: dict[str, str]) -> None:
    gateway = start_gateway(tmp_path, env=redis_env, workers=2)
    try:
        key = make_key(gateway, rpm=6)["key"]
        statuses = [chat(gateway, key).status_code for _ in range(20)]
        assert statuses.count(200) == 6
    finally:
        gateway.stop()


def test_two_workers_without_redis_divide_the_limit(tmp_path: Path) -> None:
    gateway = start_gateway(tmp_path, workers=2)
    try:
        assert "each of the 2 workers enforces 1/2" in gateway.log()
        key = make_key(gateway, rpm=4)["key"]
        statuses = []
        for _ in range(20):
            with httpx.Client() as fresh:  # new connections reach both workers
                statuses.append(
                    fresh.post(
                        gateway.openai_base + "/chat/completions",
                        json=BODY,
                        headers={"authorization": f"Bearer {key}"},
                    ).status_code
                )
        assert 1 <= statuses.count(200) <= 4
    finally:
        gateway.stop()


def test_unreachable_redis_fails_open_and_is_reported(tmp_path: Path) -> None:
    env = {"PATCHBAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    gateway = start_gateway(tmp_path, env=env)
    try:
        assert_rpm_five(gateway)  # limits still hold, in-process
        ready = httpx.get(gateway.url + "/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["redis"] == "unreachable"
        assert gateway.log().count("Redis unreachable") == 1
    finally:
        gateway.stop()


def test_unreachable_redis_fails_closed_when_configured(tmp_path: Path) -> None:
    env = {
        "PATCHBAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "PATCHBAY_REDIS_FAIL_MODE": "closed",
    }
    gateway = start_gateway(tmp_path, env=env)
    try:
        key = make_key(gateway)["key"]
        started = time.monotonic()
        refused = chat(gateway, key)
        assert time.monotonic() - started < 2  # never hangs on Redis
        assert refused.status_code == 503
        assert httpx.get(gateway.url + "/readyz").status_code == 503
    finally:
        gateway.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    yield port, process
    process.kill()
    process.wait()


def test_redis_stopped_mid_way_then_back(
    tmp_path: Path, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, process = own_redis
    gateway = start_gateway(
        tmp_path / "g", env={"PATCHBAY_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    )
    try:
        key = make_key(gateway, rpm=100)["key"]
        assert chat(gateway, key).status_code == 200
        process.send_signal(signal.SIGKILL)
        process.wait()
        for _ in range(5):
            started = time.monotonic()
            assert chat(gateway, key).status_code == 200  # fail-open
            assert time.monotonic() - started < 1.5
        assert gateway.log().count("Redis unreachable") == 1
        restarted = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.5)
            assert chat(gateway, key).status_code == 200
            assert "reachable again" in gateway.log()
        finally:
            restarted.kill()
            restarted.wait()
    finally:
        gateway.stop()
