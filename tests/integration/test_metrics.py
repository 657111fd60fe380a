"""``/metrics`` after known traffic on two workers, parsed with Prometheus' own parser: the
counts of both workers add up. Also the request id, the overhead header and the JSON request
lines (one per request, no secret in any of them)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from patchbay.observability.metrics import PUSH_PERIOD_S
from tests.conftest import gateway_config
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess, start_gateway

CHAT = "/v1/chat/completions"
Samples = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    data_dir: Path = tmp_path_factory.mktemp("metrics")
    gateway = start_gateway(
        data_dir,
        config=gateway_config(fake_openai),
        workers=2,
        env={"PATCHBAY_LOG_FORMAT": "json"},
    )
    yield gateway
    gateway.stop()


def scrape(gateway: GatewayProcess) -> Samples:
    text = httpx.get(gateway.url + "/metrics").text
    samples: Samples = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((dict(sample.labels), sample.value))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for got, v in samples.get(name, []) if labels.items() <= got.items())


def call(
    gateway: GatewayProcess, key: str, body: dict[str, object], **headers: str
) -> httpx.Response:
    # a new connection each time, so the kernel spreads the calls over both workers
    return httpx.post(
        gateway.url + CHAT, json=body, headers={"authorization": f"Bearer {key}", **headers}
    )


def test_metrics_add_up_across_two_workers(two_workers: GatewayProcess) -> None:
    gateway = two_workers
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "metered", "points": 10**7}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
        slow = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "slow", "rpm": 2}
        ).json()
    time.sleep(1.5)  # the other worker learns of the new balance within a second
    statuses: Counter[tuple[str, int]] = Counter()
    tokens = {"input": 0, "output": 0}
    points = 0
    for index in range(16):
        got = call(gateway, key["key"], {
            "model": "gpt-test", "messages": [{"role": "user", "content": f"hello {index}"}],
        })  # fmt: skip
        assert got.status_code == 200, got.text
        statuses["gpt-test", 200] += 1
        usage = got.json()["usage"]
        tokens["input"] += usage["prompt_tokens"]
        tokens["output"] += usage["completion_tokens"]
        points += usage["cost_points"]
    for index in range(4):
        body = {
            "model": "gpt-test",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": f"stream {index}"}],
        }
        got = call(gateway, key["key"], body)
        assert got.status_code == 200
        final = [
            orjson.loads(line[6:])
            for line in got.text.splitlines()
            if line.startswith("data: {") and '"usage":{' in line.replace(" ", "")
        ][-1]["usage"]
        tokens["input"] += final["prompt_tokens"]
        tokens["output"] += final["completion_tokens"]
        points += final["cost_points"]
        statuses["gpt-test", 200] += 1
    for _ in range(3):
        assert call(gateway, key["key"], {"model": "echo", "messages": [
            {"role": "user", "content": "echo me"}]}).status_code == 200  # fmt: skip
        statuses["echo", 200] += 1
    for _ in range(2):
        missing = call(
            gateway,
            key["key"],
            {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
        )
        assert missing.status_code == 404
        statuses["", 404] += 1
    refused = 0
    for _ in range(6):
        limited = {"model": "echo", "messages": [{"role": "user", "content": "limited"}]}
        got = call(gateway, slow["key"], limited)
        statuses["echo" if got.status_code == 200 else "", got.status_code] += 1
        refused += got.status_code == 429
    assert refused >= 4  # 2 rpm over two workers: each worker admits one a minute

    calls = sum(statuses.values())
    deadline = time.monotonic() + 10
    samples = scrape(gateway)
    while total(samples, "patchbay_requests_total") < calls and time.monotonic() < deadline:
        time.sleep(0.3)  # the other worker pushes its figures every half second
        samples = scrape(gateway)
    by_status: Counter[tuple[str, int]] = Counter()
    for labels, value in samples["patchbay_requests_total"]:
        by_status[labels["model"], int(labels["status"])] += int(value)
    assert by_status == statuses
    assert total(samples, "patchbay_requests_total", route="upstream-openai/upstream-gpt-9") == 20
    assert total(samples, "patchbay_requests_total", protocol="openai_chat") == calls
    assert total(samples, "patchbay_overhead_seconds_count") == calls
    assert total(samples, "patchbay_overhead_seconds_bucket", le="+Inf") == calls
    assert total(samples, "patchbay_upstream_seconds_count", provider="upstream-openai") == 20
    attempts = "patchbay_upstream_attempts_total"
    assert (
        total(samples, attempts, route="upstream-openai/upstream-gpt-9", outcome="answered") == 20
    )
    assert total(samples, attempts, outcome="failed") == 0
    assert total(samples, "patchbay_upstream_seconds_sum", provider="upstream-openai") > 0
    assert (
        total(samples, "patchbay_tokens_total", model="gpt-test", kind="input") == tokens["input"]
    )
    assert (
        total(samples, "patchbay_tokens_total", model="gpt-test", kind="output") == tokens["output"]
    )
    assert points > 0 and total(samples, "patchbay_points_total", model="gpt-test") == points
    assert total(samples, "patchbay_limiter_refusals_total") == refused
    assert total(samples, "patchbay_streams_in_flight") == 0
    assert "patchbay_settlement_queue_depth" in samples
    assert total(samples, "patchbay_settlement_write_seconds_count") >= 1

    pids = {p.name.split("_")[-1] for p in (gateway.data_dir / "metrics").rglob("counter_*.db")}
    assert len(pids) == 2, pids  # both workers served traffic, and the scrape summed them


def test_request_ids_overhead_header_and_json_request_lines(
    two_workers: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    gateway = two_workers
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "logged", "points": 10**6}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
    time.sleep(1.5)
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "log me"}]}
    echoed = call(gateway, key["key"], body, **{"x-request-id": "client-id-42"})
    assert echoed.headers["x-request-id"] == "client-id-42"
    overhead = float(echoed.headers["x-patchbay-overhead-ms"])
    assert 0 < overhead < 1000
    made = call(gateway, key["key"], body)
    assert len(made.headers["x-request-id"]) >= 16
    assert made.headers["x-request-id"] != echoed.headers["x-request-id"]
    unsafe = call(gateway, key["key"], body, **{"x-request-id": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"  # not a sane token: replaced
    refused = call(gateway, "pb-wrong-key-000000000000000000000000000", body)
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    health = httpx.get(gateway.url + "/healthz", headers={"x-request-id": "probe-1"})
    assert (
        health.headers["x-request-id"] == "probe-1" and "x-patchbay-overhead-ms" in health.headers
    )

    usage = echoed.json()["usage"]
    deadline = time.monotonic() + 5
    lines: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        text = gateway.log()
        lines = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
        if any(line.get("request_id") == "probe-1" for line in lines):
            break
        time.sleep(0.2)
    non_json = [line for line in gateway.log().splitlines() if line and not line.startswith("{")]
    assert all("Created the admin account" not in line for line in non_json)
    mine = [line for line in lines if line.get("request_id") == "client-id-42"]
    assert len(mine) == 1
    line = mine[0]
    assert line["logger"] == "patchbay.request" and line["status"] == 200
    assert line["model"] == "gpt-test" and line["route"] == "upstream-openai/upstream-gpt-9"
    assert line["input_tokens"] == usage["prompt_tokens"]
    assert line["output_tokens"] == usage["completion_tokens"]
    assert line["points"] == usage["cost_points"]
    assert line["path"] == CHAT and line["protocol"] == "openai_chat"
    for name in ("overhead_ms", "upstream_ms", "duration_ms"):
        assert isinstance(line[name], float | int)
    assert line["duration_ms"] >= line["upstream_ms"]  # type: ignore[operator]
    assert [
        x["status"] for x in lines if x.get("request_id") == refused.headers["x-request-id"]
    ] == [401]
    log = gateway.log()
    for secret in (key["key"], gateway.admin_key, fake_openai.api_key):
        assert secret not in log


def test_batched_histogram_observations_match_observe() -> None:
    """The request path counts observations in buckets and pushes them in batches; the
    histogram must come out as if each had been observed."""
    from prometheus_client import CollectorRegistry, Histogram

    from patchbay.observability.metrics import OVERHEAD_BUCKETS, Buckets, add_buckets

    registry = CollectorRegistry()
    one = Histogram("one_seconds", "x", ["p"], buckets=OVERHEAD_BUCKETS, registry=registry)
    batch = Histogram("batch_seconds", "x", ["p"], buckets=OVERHEAD_BUCKETS, registry=registry)
    values = [0.0, 0.0001, 0.00011, 0.0004, 0.003, 0.003, 0.02, 0.5, 0.7, 12.0]
    pending = Buckets(OVERHEAD_BUCKETS)
    for value in values:
        one.labels("chat").observe(value)
        pending.add(value)
    add_buckets(batch.labels("chat"), pending)
    add_buckets(batch.labels("chat"), Buckets(OVERHEAD_BUCKETS))  # an empty push adds nothing

    def samples(name: str) -> list[tuple[str, dict[str, str], float]]:
        return [
            (s.name.removeprefix(name), dict(s.labels), s.value)
            for family in registry.collect()
            if family.name == name
            for s in family.samples
            if not s.name.endswith("_created")
        ]

    assert samples("batch_seconds") == samples("one_seconds")
    assert ("_count", {"p": "chat"}, float(len(values))) in samples("batch_seconds")


def test_text_request_lines(gateway: GatewayProcess, user_key: str) -> None:
    """The default format: the same fields as ``name=value`` after today's text prefix."""
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "text line"}]}
    got = call(gateway, user_key, body, **{"x-request-id": "text-line-1"})
    assert got.status_code == 200 and got.headers["x-request-id"] == "text-line-1"
    deadline = time.monotonic() + 5
    mine: list[str] = []
    while not mine and time.monotonic() < deadline:
        mine = [line for line in gateway.log().splitlines() if "request_id=text-line-1" in line]
        time.sleep(0.1)
    assert len(mine) == 1, mine
    line = mine[0]
    assert " INFO patchbay.request: request " in line
    usage = got.json()["usage"]
    parts = [
        "status=200",
        "model=gpt-test",
        "route=upstream-openai/upstream-gpt-9",
        f"input_tokens={usage['prompt_tokens']}",
        f"points={usage['cost_points']}",
    ]
    for part in parts:
        assert part in line, (part, line)
    assert user_key not in gateway.log()


def test_streams_in_flight_across_workers(
    two_workers: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    import threading

    gateway = two_workers
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "streamer", "points": 10**6}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
    time.sleep(1.5)
    fake_openai.faults.chunk_delay_s = 0.4  # each stream takes a few seconds
    body = {
        "model": "gpt-test",
        "stream": True,
        "messages": [{"role": "user", "content": "a slow stream of several words"}],
    }
    done: list[int] = []
    threads = [
        threading.Thread(target=lambda: done.append(call(gateway, key["key"], body).status_code))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    seen = 0.0
    deadline = time.monotonic() + 10
    while seen < 3 and time.monotonic() < deadline:
        seen = total(scrape(gateway), "patchbay_streams_in_flight")
        time.sleep(0.1)
    for thread in threads:
        thread.join(30)
    assert seen == 3 and done == [200, 200, 200]
    deadline = time.monotonic() + 5
    while total(scrape(gateway), "patchbay_streams_in_flight") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert total(scrape(gateway), "patchbay_streams_in_flight") == 0


def test_route_cooldowns(two_workers: GatewayProcess) -> None:
    """A route whose upstream refuses connections is cooled down by its breaker: the gauge
    says so (any worker's breaker open is enough: the gauge is the workers' maximum)."""
    gateway = two_workers
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "cooler", "points": 10**6}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
    time.sleep(1.5)
    body = {"model": "unreachable", "messages": [{"role": "user", "content": "anyone?"}]}
    statuses = [call(gateway, key["key"], body).status_code for _ in range(8)]
    assert set(statuses) <= {502, 503} and 503 in statuses, statuses  # 503: cooling down
    deadline = time.monotonic() + 5
    cooling = 0.0
    while not cooling and time.monotonic() < deadline:
        cooling = total(scrape(gateway), "patchbay_route_cooldown", route="nowhere/x")
        time.sleep(0.2)
    assert cooling == 1
    samples = scrape(gateway)
    assert total(samples, "patchbay_route_cooldown", route="upstream-openai/upstream-gpt-9") == 0

    # every attempt counted, by outcome: the 502s each made one failed attempt (the 503s none).
    # A scrape sees the other worker as of its last push (at most PUSH_PERIOD_S ago): wait for
    # the count to arrive, then one more push period to see that nothing more does.
    def failed() -> float:
        return total(
            scrape(gateway), "patchbay_upstream_attempts_total", route="nowhere/x", outcome="failed"
        )

    deadline = time.monotonic() + 5
    while failed() < statuses.count(502) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2 * PUSH_PERIOD_S)
    assert failed() == statuses.count(502), (failed(), statuses)
    samples = scrape(gateway)
    assert total(samples, "patchbay_requests_total", model="unreachable") == len(statuses)
    assert total(samples, "patchbay_requests_total", model="unreachable", status="503") == (
        statuses.count(503)
    )
    answered = total(
        samples, "patchbay_upstream_attempts_total", route="nowhere/x", outcome="answered"
    )
    assert answered == 0
