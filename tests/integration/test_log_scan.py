"""A failure-heavy session, then the whole server log and every response are scanned for the
admin key, the client keys (good and bad) and the upstream keys: none may appear.

The session, against the real server at ``debug`` log level and real loopback upstreams of
every kind: calls with bad, revoked and expired keys sent every way a key can be sent
(bearer, ``x-api-key``, ``x-goog-api-key``, ``?key=``); upstream errors whose messages
contain the upstream key (400, 401, 403, 429, 500, 503) on same-protocol and translated
routes, whole and streamed; upstream timeouts; a stream cut mid-way; a provider and a bot
given literal keys, then read back; the catalog, usage and admin reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fake_openai import FakeOpenAI, start_fake_openai
from tests.servers import GatewayProcess, start_gateway

LITERAL_KEY = "sk-literal-provider-key-9f8e7d6c5b4a39281706"
BOT_KEY = "sk-bot-owner-key-0a1b2c3d4e5f60718293a4b5"
BAD_KEYS = ("pb-not-a-real-key-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "sk-someone-elses-key-1234567890")
CANARY = "canary-0f1e2d3c4b5a69788796a5b4"
KINDS = ("openai", "openai-responses", "anthropic", "gemini")
STATUSES = (400, 401, 403, 429, 500, 503)
# one model per kind and phase: each phase's failures open only its own routes' breakers
PHASES = ("ok", "timeout", "cut", *(str(s) for s in STATUSES))


def _config(fake: FakeOpenAI) -> str:
    # breakers never open here: every failure of the session reaches the upstream
    lines = ["[server]", "max_body_bytes = 1048576", "[routing]", "breaker_failures = 1000000", ""]
    for kind in KINDS:
        base = fake.base_url if kind.startswith("openai") else fake.root_url
        lines += [
            "[[providers]]",
            f'name = "p-{kind}"',
            f'kind = "{kind}"',
            f'base_url = "{base}"',
            f'api_key = "{fake.api_key}"',
            "timeout_s = 1",
            "",
        ]
        for phase in PHASES:
            lines += [
                "[[models]]",
                f'id = "via-{kind}-{phase}"',
                'pricing = { prompt = "0.00001", completion = "0.00002" }',
                f'routes = [ {{ provider = "p-{kind}", model = "up-{kind}-{phase}" }} ]',
                "",
            ]
    return "\n".join(lines)


@dataclass
class Seen:
    what: str
    status: int
    text: str


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    fake, stop = start_fake_openai()
    yield fake
    stop()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeOpenAI
) -> Iterator[GatewayProcess]:
    data_dir: Path = tmp_path_factory.mktemp("scan")
    process = start_gateway(data_dir, config=_config(upstream), env={"PATCHBAY_LOG_LEVEL": "debug"})
    yield process
    process.stop()


def _record(seen: list[Seen], what: str, response: httpx.Response) -> httpx.Response:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    seen.append(Seen(what, response.status_code, f"{headers}\n\n{response.text}"))
    return response


def _bodies(model: str, kind: str, stream: bool) -> tuple[str, dict[str, object]]:
    if kind == "chat":
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        return "/v1/chat/completions", body
    if kind == "responses":
        return "/v1/responses", {"model": model, "input": "hi", "stream": stream}
    if kind == "anthropic":
        body = {
            "model": model,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": stream,
        }
        return "/v1/messages", body
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{method}", {"contents": [{"parts": [{"text": "hi"}]}]}


def _auth(kind: str, key: str) -> dict[str, str]:
    if kind == "anthropic":
        return {"x-api-key": key}
    if kind == "gemini":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}


def _session(gateway: GatewayProcess, upstream: FakeOpenAI) -> tuple[list[Seen], list[str]]:
    seen: list[Seen] = []
    client_keys: list[str] = []
    http = httpx.Client(base_url=gateway.url, timeout=30)
    admin = {"authorization": f"Bearer {gateway.admin_key}"}
    account = http.post("/admin/accounts", headers=admin, json={"name": "s", "points": 10**8})
    account_id = _record(seen, "account", account).json()["id"]

    def new_key(**extra: object) -> str:
        response = http.post(
            f"/admin/accounts/{account_id}/keys", headers=admin, json={"name": "k", **extra}
        )
        secret = str(response.json()["key"])  # shown once, by design: not scanned
        client_keys.append(secret)
        return secret

    key = new_key(rpm=100000)
    revoked = new_key()
    expired = new_key(expires_at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat())
    key_id = [k for k in http.get("/admin/keys", headers=admin).json()["data"]][-2]["id"]
    _record(seen, "revoke", http.delete(f"/admin/keys/{key_id}", headers=admin))
    time.sleep(1.2)  # the expiring key is now past its time

    protocols = ("chat", "responses", "anthropic", "gemini")
    for bad in (*BAD_KEYS, revoked, expired):
        for protocol in protocols:
            path, body = _bodies("via-openai-ok", protocol, False)
            _record(
                seen,
                f"bad key {protocol}",
                http.post(path, json=body, headers=_auth(protocol, bad)),
            )
        _record(seen, "bad key ?key=", http.post(
            f"/v1beta/models/via-gemini-ok:generateContent?key={bad}",
            json={"contents": [{"parts": [{"text": "hi"}]}]},
        ))  # fmt: skip
        _record(seen, "bad key models", http.get("/v1/models", headers=_auth("chat", bad)))
        _record(seen, "bad key admin", http.get("/admin/accounts", headers=_auth("chat", bad)))
        _record(
            seen, "bad key usage", http.get("/usage/current_balance", headers=_auth("chat", bad))
        )
    _record(seen, "user on admin", http.get("/admin/accounts", headers=_auth("chat", key)))

    secret = upstream.api_key
    for status in STATUSES:
        upstream.faults.status = status
        upstream.faults.message = f"the key {secret} (Bearer {secret}) was refused"
        for protocol in protocols:
            for kind in KINDS:
                for stream in (False, True):
                    path, body = _bodies(f"via-{kind}-{status}", protocol, stream)
                    response = http.post(path, json=body, headers=_auth(protocol, key))
                    _record(seen, f"{status} {protocol}->{kind} stream={stream}", response)
    upstream.reset()
    upstream.faults.delay_s = 1.5  # past the providers' timeout_s
    for protocol in protocols:
        path, body = _bodies(f"via-{KINDS[protocols.index(protocol)]}-timeout", protocol, False)
        _record(
            seen, f"timeout {protocol}", http.post(path, json=body, headers=_auth(protocol, key))
        )
    upstream.reset()
    upstream.faults.drop_after_chunks = 2
    for protocol in protocols:
        path, body = _bodies("via-openai-cut", protocol, True)
        try:
            _record(
                seen, f"cut {protocol}", http.post(path, json=body, headers=_auth(protocol, key))
            )
        except httpx.HTTPError:
            pass  # a cut stream may end the client's read: nothing to scan
    upstream.reset()

    provider = {"name": "literal", "kind": "openai", "base_url": upstream.base_url,
                "api_key": LITERAL_KEY}  # fmt: skip
    _record(seen, "provider create", http.post("/admin/providers", headers=admin, json=provider))
    _record(seen, "provider patch", http.patch(
        "/admin/providers/literal", headers=admin, json={"api_key": LITERAL_KEY + "2"}
    ))  # fmt: skip
    _record(seen, "providers", http.get("/admin/providers", headers=admin))
    _record(seen, "provider", http.get("/admin/providers/literal", headers=admin))
    model = {"id": "via-literal", "routes": [{"provider": "literal", "model": "m"}]}
    _record(seen, "model create", http.post("/admin/models", headers=admin, json=model))
    upstream.faults.status, upstream.faults.message = 401, f"bad {LITERAL_KEY}2"
    path, body = _bodies("via-literal", "chat", False)
    _record(seen, "literal refused", http.post(path, json=body, headers=_auth("chat", key)))
    upstream.reset()
    bot = {"handle": "scanbot", "api_bot_settings": {"base_url": "http://127.0.0.1:9/v1",
           "model_name": "m", "api_key": BOT_KEY, "api_type": "chat_completions_api"}}  # fmt: skip
    _record(seen, "bot create", http.post("/bots", headers=_auth("chat", key), json=bot))
    _record(seen, "bots", http.get("/bots", headers=_auth("chat", key)))
    _record(seen, "bot", http.get("/bots/scanbot", headers=_auth("chat", key)))
    _record(seen, "bot call", http.post(*_bodies("scanbot", "chat", False)[:1],
            json=_bodies("scanbot", "chat", False)[1], headers=_auth("chat", key)))  # fmt: skip
    for path in ("/v1/models", "/usage/current_balance", "/usage/points_history", "/readyz"):
        _record(seen, path, http.get(path, headers=_auth("chat", key)))
    for path in ("/admin/keys", "/admin/accounts", "/admin/routes", "/admin/models"):
        _record(seen, path, http.get(path, headers=admin))
    _record(seen, "metrics", http.get("/metrics"))
    # the scan's control: a value that must be found, in a logged path and in an answer
    _record(seen, "canary", http.post(
        f"/v1beta/models/{CANARY}:generateContent", headers=_auth("gemini", key),
        json={"contents": [{"parts": [{"text": "hi"}]}]},
    ))  # fmt: skip
    http.close()
    return seen, client_keys


def _fragments(secret: str) -> list[str]:
    """The secret, and its random part without the prefix, as found anywhere."""
    body = secret.split("-", 1)[1] if secret.startswith(("pb-", "sk-")) else secret
    return [secret, body]


def _found(name: str, fragment: str, log: str, seen: list[Seen]) -> list[str]:
    where = [f"{name} in the log: {line[:300]}" for line in log.splitlines() if fragment in line]
    where += [
        f"{name} in the answer to {r.what}: {r.text[:300]}" for r in seen if fragment in r.text
    ]
    return where


def test_no_secret_in_the_log_or_any_response(
    gateway: GatewayProcess, upstream: FakeOpenAI
) -> None:
    seen, client_keys = _session(gateway, upstream)
    statuses = {s.status for s in seen}
    timeouts = [(s.what, s.status, s.text[-200:]) for s in seen if s.what.startswith("timeout")]
    assert {401, 403, 502, 504} <= statuses, (sorted(statuses), timeouts)  # they happened
    assert any(s.status == 400 for s in seen if "400 chat->openai" in s.what)
    assert len(seen) > 200
    time.sleep(1.5)  # the request lines are written behind the requests
    gateway.stop()
    log = gateway.log()
    assert "request" in log and len(log.splitlines()) > 300, "the log recorded the session"
    secrets = {
        "admin key": gateway.admin_key,
        "upstream key": upstream.api_key,
        "provider literal key": LITERAL_KEY,
        "bot key": BOT_KEY,
        **{f"client key {i}": k for i, k in enumerate(client_keys)},
        **{f"bad key {i}": k for i, k in enumerate(BAD_KEYS)},
    }
    control = _found("canary", CANARY, log, seen)
    assert any("in the log" in c for c in control) and any("answer" in c for c in control)
    leaks = [
        leak
        for name, secret in secrets.items()
        for fragment in _fragments(secret)
        for leak in _found(name, fragment, log, seen)
    ]
    assert not leaks, "\n".join(leaks[:20])
    assert "Traceback" not in log, log[log.index("Traceback") :][:2000]
