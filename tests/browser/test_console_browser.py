"""The console end to end in headless Chromium: a bad key refused; sign in; create a key;
call the gateway with it; see the call in the history and in the chart; redeem a code and
see the balance move; the admin view. Screenshots are kept in ``tests/browser/.artifacts``;
no page may break its Content-Security-Policy or throw."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.servers import GatewayProcess, start_gateway

CONFIG = """
[[models]]
id = "echo-priced"
owned_by = "Patchbay"
description = "echo, with prices"
context_window = 32000
pricing = { prompt = "0.0001", completion = "0.0002" }
routes = [ { provider = "echo", model = "echo" } ]
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    process = start_gateway(tmp_path_factory.mktemp("browser"), config=CONFIG)
    yield process
    process.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console_message(msg: Any) -> None:
        # a page answered 401 or 409 on purpose is reported as a failed load: not a problem
        if msg.type in ("error", "warning") and not msg.text.startswith("Failed to load"):
            problems.append(msg.text)

    def response(got: Any) -> None:
        if got.status >= 400 and got.request.resource_type != "document":
            problems.append(f"{got.status} for {got.url}")

    tab.on("console", console_message)
    tab.on("response", response)
    tab.problems = problems
    yield tab
    context.close()
    assert problems == [], problems  # no CSP violation, no script error, no missing file


def sign_in(page: Any, gateway: GatewayProcess, key: str) -> None:
    page.goto(gateway.url + "/ui/login")
    page.fill("input[name=api_key]", key)
    page.click("#login button")


def number(text: str) -> int:
    return int(re.sub(r"[^0-9-]", "", text))


def test_sign_in_key_call_history_chart_and_redeem(
    page: Any, gateway: GatewayProcess, artifacts: Path
) -> None:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "dana", "points": 5000}).json()
        login_key = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "console"}
        ).json()["key"]
        code = admin.post("/admin/redemptions", json={"points": 2500, "name": "welcome"}).json()
    code = code["data"][0]["code"]

    sign_in(page, gateway, "pb-this-is-not-a-key-000000000000000000000")
    page.wait_for_selector(".notice.bad")
    assert "not valid" in page.inner_text(".notice.bad")
    assert page.url.endswith("/ui/login")
    page.screenshot(path=str(artifacts / "01-bad-key.png"))

    sign_in(page, gateway, login_key)
    page.wait_for_url("**/ui/")
    assert number(page.inner_text("#balance")) == 5000
    cookie = [c for c in page.context.cookies() if c["name"] == "pb_console"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the session

    page.click("text=Keys")
    page.fill("#create-key input[name=name]", "laptop")
    page.fill("#create-key input[name=allowed_models]", "echo-priced")
    page.fill("#create-key input[name=rpm]", "30")
    page.click("#create-key button")
    page.wait_for_selector("#new-key-secret")
    secret = page.inner_text("#new-key-secret").strip()
    assert secret.startswith("pb-")
    page.screenshot(path=str(artifacts / "02-key-created.png"), full_page=True)

    client = openai.OpenAI(base_url=gateway.openai_base, api_key=secret, max_retries=0)
    answer = client.chat.completions.create(
        model="echo-priced", messages=[{"role": "user", "content": "hello from the browser test"}]
    )
    charged = answer.usage.model_dump()["cost_points"]  # type: ignore[union-attr]
    assert charged > 0
    with pytest.raises(openai.PermissionDeniedError):  # the key's allowed models hold
        client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "x"}])

    page.click("text=Usage")
    row = page.locator("#history tbody tr").first
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "echo-priced" and cells[2] == "laptop"
    assert number(cells[6]) == charged and cells[7].startswith("q_")
    page.select_option("#usage-filters select[name=key]", "laptop")
    page.click("#usage-filters button")
    assert page.locator("#history tbody tr").count() == 1
    page.screenshot(path=str(artifacts / "03-history.png"), full_page=True)

    page.click("text=Overview")
    page.wait_for_selector("#chart-days[data-drawn=true] canvas")
    page.wait_for_selector("#chart-models[data-drawn=true] canvas")
    assert number(page.get_attribute("#chart-days", "data-total")) == charged
    assert number(page.get_attribute("#chart-models", "data-total")) == charged
    by_model = page.locator("#by-model tbody tr").first.locator("td").all_inner_texts()
    assert by_model[0] == "echo-priced" and number(by_model[2]) == charged
    assert number(page.inner_text("#spent")) == charged
    balance = number(page.inner_text("#balance"))
    assert balance == 5000 - charged
    page.screenshot(path=str(artifacts / "04-overview-chart.png"), full_page=True)

    page.fill("#redeem input[name=code]", code)
    page.click("#redeem button")
    page.wait_for_selector(".notice.ok")
    assert number(page.inner_text("#balance")) == balance + 2500
    page.screenshot(path=str(artifacts / "05-redeemed.png"), full_page=True)
    page.fill("#redeem input[name=code]", code)
    page.click("#redeem button")
    page.wait_for_selector(".notice.bad")
    assert "already been redeemed" in page.inner_text(".notice.bad")
    assert number(page.inner_text("#balance")) == balance + 2500

    page.click("text=Sign out")
    page.wait_for_url("**/ui/login?done=signed-out")
    page.goto(gateway.url + "/ui/usage")
    assert page.url.endswith("/ui/login")  # the session is gone


def test_admin_view(page: Any, gateway: GatewayProcess, artifacts: Path) -> None:
    sign_in(page, gateway, gateway.admin_key)
    page.wait_for_url("**/ui/")
    page.click("text=Accounts")
    page.fill("#create-account input[name=name]", "erin")
    page.fill("#create-account input[name=points]", "700")
    page.click("#create-account button")
    page.wait_for_selector(".notice.ok")
    row = page.locator('tr[data-account="erin"]')
    assert number(row.locator(".balance").inner_text()) == 700
    row.locator("input[name=points]").fill("300")
    row.locator("button").click()
    page.wait_for_selector(".notice.ok")
    assert number(page.locator('tr[data-account="erin"] .balance').inner_text()) == 1000
    page.screenshot(path=str(artifacts / "06-admin-accounts.png"), full_page=True)

    page.click("text=Codes")
    page.fill("#create-codes input[name=points]", "100")
    page.fill("#create-codes input[name=count]", "3")
    page.fill("#create-codes input[name=name]", "launch")
    page.click("#create-codes button")
    page.wait_for_selector("#new-codes")
    assert page.locator("#new-codes code").count() == 3
    page.screenshot(path=str(artifacts / "07-admin-codes.png"), full_page=True)

    page.click("text=Catalog & routes")
    routes = page.locator("#routes tbody tr").all_inner_texts()
    assert any("echo-priced" in r for r in routes)
    page.screenshot(path=str(artifacts / "08-admin-catalog.png"), full_page=True)

    page.click("text=All usage")
    page.wait_for_selector("#chart-days[data-drawn=true] canvas")
    page.screenshot(path=str(artifacts / "09-admin-usage.png"), full_page=True)
