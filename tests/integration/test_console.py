"""The console over plain HTTP: sessions, cookies, CSRF on every form, the CSP, sign-in rate
limits, and what a user may and may not reach (the browser tests drive the same pages in
Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import GatewayProcess, start_gateway

CONFIG = """
[[models]]
id = "echo-priced"
owned_by = "Patchbay"
description = "echo, with prices"
input_modalities = ["text", "image"]
context_window = 32000
pricing = { prompt = "0.0001", completion = "0.0002" }
routes = [ { provider = "echo", model = "echo" } ]

[[providers]]
name = "nowhere"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-nowhere"

[[models]]
id = "unreachable"
routes = [ { provider = "nowhere", model = "nothing" } ]
"""
POST_FORMS = [
    "/ui/redeem",
    "/ui/keys",
    "/ui/keys/1/revoke",
    "/ui/bots",
    "/ui/bots/some-bot",
    "/ui/bots/some-bot/delete",
    "/ui/admin/accounts",
    "/ui/admin/accounts/1/credit",
    "/ui/admin/codes",
    "/ui/logout",
]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        tmp_path_factory.mktemp("console"),
        config=CONFIG,
        env={"PATCHBAY_CONSOLE_SIGN_IN_RPM": "1000", "PATCHBAY_ALLOW_PRIVATE_UPSTREAMS": "true"},
    )
    yield gateway
    gateway.stop()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(gateway: GatewayProcess, key: str) -> httpx.Client:
    client = httpx.Client(base_url=gateway.url, follow_redirects=False, timeout=30)
    form = client.get("/ui/login")
    got = client.post("/ui/login", data={"csrf": csrf_of(form.text), "api_key": key})
    assert got.status_code == 303 and got.headers["location"] == "/ui/", got.text[:300]
    return client


def user(gateway: GatewayProcess, name: str, points: int = 1000) -> tuple[int, str]:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": name, "points": points}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "web"}).json()
    return int(account["id"]), str(key["key"])


def test_pages_send_a_strict_csp_and_the_session_cookie_is_strict(
    console: GatewayProcess,
) -> None:
    login = httpx.get(console.url + "/ui/login")
    csp = login.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert login.headers["x-frame-options"] == "DENY"
    assert "<script>" not in login.text and " style=" not in login.text  # nothing inline
    _, key = user(console, "cookie-user")
    client = httpx.Client(base_url=console.url, follow_redirects=False)
    form = client.get("/ui/login")
    got = client.post("/ui/login", data={"csrf": csrf_of(form.text), "api_key": key})
    cookie = [c for c in got.headers.get_list("set-cookie") if c.startswith("pb_console=")][0]
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=strict" in flags and "path=/ui" in flags
    assert key not in cookie
    assert client.get("/ui/").status_code == 200


def test_sign_in_refuses_a_bad_key_and_a_missing_csrf_token(console: GatewayProcess) -> None:
    client = httpx.Client(base_url=console.url, follow_redirects=False)
    form = client.get("/ui/login")
    bad = client.post("/ui/login", data={"csrf": csrf_of(form.text), "api_key": "pb-nope"})
    assert bad.status_code == 401 and "not valid" in bad.text
    assert "pb_console=" not in bad.headers.get("set-cookie", "")
    _, key = user(console, "csrf-user")
    forged = httpx.post(console.url + "/ui/login", data={"csrf": "x", "api_key": key})
    assert forged.status_code == 403  # no double-submit cookie: a cross-site form
    assert httpx.get(console.url + "/ui/", follow_redirects=False).headers["location"] == (
        "/ui/login"
    )


def test_every_form_needs_its_csrf_token(console: GatewayProcess) -> None:
    admin = sign_in(console, console.admin_key)
    for path in POST_FORMS:
        missing = admin.post(path, data={"points": "5", "name": "x", "code": "x"})
        assert missing.status_code == 403, path
        wrong = admin.post(path, data={"csrf": "not-the-token", "points": "5"})
        assert wrong.status_code == 403, path
    assert admin.get("/ui/").status_code == 200  # still signed in: logout refused too


def test_a_user_sees_only_the_user_view_and_only_their_keys(console: GatewayProcess) -> None:
    _, key = user(console, "plain-user")
    other_id, _ = user(console, "other-user")
    with console.admin() as api:
        other_key = api.get(f"/admin/accounts/{other_id}/keys").json()["data"][0]["id"]
    client = sign_in(console, key)
    overview = client.get("/ui/")
    assert "Accounts" not in overview.text and 'id="balance">1,000<' in overview.text
    for path in ("/ui/admin/accounts", "/ui/admin/catalog", "/ui/admin/usage", "/ui/admin/codes"):
        assert client.get(path).status_code == 403, path
    token = csrf_of(overview.text)
    assert client.post("/ui/admin/codes", data={"csrf": token, "points": "9"}).status_code == 403
    stolen = client.post(f"/ui/keys/{other_key}/revoke", data={"csrf": token})
    assert stolen.status_code == 404
    with console.admin() as api:
        assert not api.get(f"/admin/accounts/{other_id}/keys").json()["data"][0]["revoked"]


def test_keys_bots_and_catalog_through_the_forms(console: GatewayProcess) -> None:
    _, key = user(console, "maker")
    client = sign_in(console, key)
    token = csrf_of(client.get("/ui/keys").text)
    made = client.post("/ui/keys", data={
        "csrf": token, "name": "ci", "allowed_models": "echo-priced, gpt-*", "rpm": "7",
        "tpm": "900", "max_points": "50",
    })  # fmt: skip
    assert made.status_code == 201
    secret = re.search(r'id="new-key-secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    assert secret.startswith("pb-")
    listed = client.get("/ui/keys").text
    assert secret not in listed and "echo-priced, gpt-*" in listed  # shown once
    with console.admin() as api:
        keys = api.get("/admin/keys").json()["data"]
    mine = [k for k in keys if k["name"] == "ci"][0]
    assert (mine["rpm"], mine["tpm"], mine["max_points"]) == (7, 900, 50)
    assert mine["allowed_models"] == ["echo-priced", "gpt-*"]
    bad = client.post("/ui/keys", data={"csrf": token, "name": "x", "rpm": "many"})
    assert bad.status_code == 400 and "rpm must be a whole number" in bad.text

    catalog = client.get("/ui/models", params={"modality": "image", "min_context": "1000"})
    assert 'data-model="echo-priced"' in catalog.text and 'data-model="echo"' in catalog.text
    huge = client.get("/ui/models", params={"min_context": "2000000"}).text
    assert "data-model=" not in huge and "No model matches" in huge
    audio = client.get("/ui/models", params={"modality": "audio"}).text
    assert "data-model=" not in audio
    assert ">100<" in catalog.text and ">200<" in catalog.text  # USD per million tokens
    cheap = client.get("/ui/models", params={"max_prompt": "50"})
    assert 'data-model="echo-priced"' not in cheap.text and 'data-model="echo"' in cheap.text
    limited = sign_in(console, secret).get("/ui/models").text
    assert 'data-model="echo-priced"' in limited and 'data-model="echo"' not in limited

    bot = client.post("/ui/bots", data={
        "csrf": token, "handle": "my-web-bot", "description": "mine", "base_url":
        "http://127.0.0.1:9/v1", "model_name": "m1", "api_key": "sk-bot-secret-123",
        "api_type": "chat_completions_api", "prompt_per_million": "3", "is_private": "on",
    })  # fmt: skip
    assert bot.status_code == 303, bot.text[:400]
    page = client.get("/ui/bots/my-web-bot").text
    assert "sk-bot-secret-123" not in page and "http://127.0.0.1:9/v1" in page
    got = httpx.get(console.url + "/bots/my-web-bot", headers={"authorization": f"Bearer {key}"})
    settings = got.json()["api_bot_settings"]
    assert settings["pricing"] == {"prompt": "0.000003"} and got.json()["is_private"] is True
    assert "api_key" not in settings
    edited = client.post("/ui/bots/my-web-bot", data={
        "csrf": token, "description": "edited", "base_url": "http://127.0.0.1:9/v2",
        "api_type": "responses_api",
    })  # fmt: skip
    assert edited.status_code == 303
    got = httpx.get(console.url + "/bots/my-web-bot", headers={"authorization": f"Bearer {key}"})
    assert got.json()["description"] == "edited" and got.json()["is_private"] is False
    assert got.json()["api_bot_settings"]["api_type"] == "responses_api"
    refused = client.post("/ui/bots", data={"csrf": token, "handle": "x", "base_url": "b"})
    assert refused.status_code == 400 and "handle" in refused.text
    gone = client.post("/ui/bots/my-web-bot/delete", data={"csrf": token})
    assert gone.status_code == 303
    assert "my-web-bot" not in client.get("/ui/bots").text


def test_admin_view_accounts_credit_codes_and_routes(console: GatewayProcess) -> None:
    admin = sign_in(console, console.admin_key)
    token = csrf_of(admin.get("/ui/admin/accounts").text)
    made = admin.post("/ui/admin/accounts", data={"csrf": token, "name": "from-ui", "points": "40"})
    assert made.status_code == 303
    with console.admin() as api:
        account = [a for a in api.get("/admin/accounts").json()["data"] if a["name"] == "from-ui"][
            0
        ]
    assert account["point_balance"] == 40
    credit = admin.post(
        f"/ui/admin/accounts/{account['id']}/credit",
        data={"csrf": token, "points": "60", "note": "welcome"},
    )
    assert credit.status_code == 303
    page = admin.get("/ui/admin/accounts?done=credited").text
    assert "The account was credited." in page
    assert re.search(r'data-account="from-ui">.*?class="num balance">100<', page, re.S)
    codes = admin.post(
        "/ui/admin/codes", data={"csrf": token, "points": "25", "count": "2", "name": "ui-batch"}
    )
    assert codes.status_code == 201
    shown = re.findall(r"<code>(pbr-[^<]+)</code>", codes.text)
    assert len(shown) == 2
    listing = admin.get("/ui/admin/codes").text
    assert "ui-batch" in listing and not any(code in listing for code in shown)
    catalog = admin.get("/ui/admin/catalog").text
    assert "echo-priced" in catalog and 'id="routes"' in catalog and ">echo<" in catalog
    route = re.search(r'data-route="nowhere/nothing">(.*?)</tr>', catalog, re.S)
    assert route and '"state closed"' in route.group(1)
    for _ in range(4):  # the upstream refuses connections: the breaker opens after 3
        httpx.post(
            console.url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {console.admin_key}"},
            json={"model": "unreachable", "messages": [{"role": "user", "content": "hi"}]},
        )
    catalog = admin.get("/ui/admin/catalog").text
    route = re.search(r'data-route="nowhere/nothing">(.*?)</tr>', catalog, re.S)
    assert route and '"state open"' in route.group(1), route
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", route.group(1))  # cooling until
    assert admin.get("/ui/admin/usage").status_code == 200


def test_sessions_end_on_sign_out_and_when_the_key_is_revoked(console: GatewayProcess) -> None:
    _, key = user(console, "leaver")
    client = sign_in(console, key)
    cookie = client.cookies.get("pb_console")
    out = client.post("/ui/logout", data={"csrf": csrf_of(client.get("/ui/").text)})
    assert out.status_code == 303
    replay = httpx.get(console.url + "/ui/", cookies={"pb_console": cookie or ""})
    assert (
        replay.status_code == 303 and replay.headers["location"] == "/ui/login"
    )  # gone server-side

    client = sign_in(console, key)
    with console.admin() as api:
        key_id = [k for k in api.get("/admin/keys").json()["data"] if k["name"] == "web"][-1]["id"]
        api.delete(f"/admin/keys/{key_id}")
    assert client.get("/ui/").headers["location"] == "/ui/login"


def test_sign_in_attempts_are_rate_limited(tmp_path: Path) -> None:
    gateway = start_gateway(tmp_path, env={"PATCHBAY_CONSOLE_SIGN_IN_RPM": "3"})
    try:
        client = httpx.Client(base_url=gateway.url, follow_redirects=False)
        statuses = []
        for _ in range(5):
            form = client.get("/ui/login")
            got = client.post("/ui/login", data={"csrf": csrf_of(form.text), "api_key": "pb-x"})
            statuses.append(got.status_code)
        assert statuses == [401, 401, 401, 429, 429]
        assert int(got.headers["retry-after"]) >= 1 and "Too many sign-in attempts" in got.text
        form = client.get("/ui/login")
        right = client.post(
            "/ui/login", data={"csrf": csrf_of(form.text), "api_key": gateway.admin_key}
        )
        assert right.status_code == 429  # even the right key waits: attempts are what count
    finally:
        gateway.stop()


def test_top_ups_in_the_console_reach_the_book_instances_share(tmp_path: Path) -> None:
    """With Redis the instances admit from a shared book: a credit or a redemption made in
    the console moves it at once, so a refused account is admitted again."""
    from tests.conftest import REDIS_URL, require_service

    require_service("Redis", "127.0.0.1", 6379)
    gateway = start_gateway(tmp_path, config=CONFIG, env={"PATCHBAY_REDIS_URL": REDIS_URL})
    try:
        body = {"model": "echo-priced", "messages": [{"role": "user", "content": "spend it"}]}

        def chat(key: str) -> int:
            return httpx.post(
                gateway.url + "/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {key}"},
            ).status_code

        def exhaust(key: str) -> None:
            statuses = [chat(key) for _ in range(3)]
            assert statuses[0] == 200 and statuses[-1] == 402, statuses

        account_id, key = user(gateway, "credited-in-console", points=100)
        exhaust(key)
        admin = sign_in(gateway, gateway.admin_key)
        token = csrf_of(admin.get("/ui/admin/accounts").text)
        got = admin.post(
            f"/ui/admin/accounts/{account_id}/credit", data={"csrf": token, "points": "5000"}
        )
        assert got.status_code == 303
        assert chat(key) == 200

        _, other = user(gateway, "redeemed-in-console", points=100)
        exhaust(other)
        with gateway.admin() as api:
            code = api.post("/admin/redemptions", json={"points": 5000}).json()["data"][0]["code"]
        client = sign_in(gateway, other)
        redeemed = client.post("/ui/redeem", data={"csrf": csrf_of(client.get("/ui/").text),
                                                   "code": code})  # fmt: skip
        assert redeemed.status_code == 303
        assert chat(other) == 200
    finally:
        gateway.stop()
