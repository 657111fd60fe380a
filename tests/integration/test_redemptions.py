"""Redemption codes: created by the admin API and the CLI, redeemed once with
``POST /usage/redeem``, recorded in the ledger as a top-up — also when two instances on one
PostgreSQL database race for the same codes."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import require_service
from tests.integration.test_admin_and_cli import cli
from tests.servers import GatewayProcess, start_gateway
from tests.support import ledger_consistency, query, scratch_postgres


def _account(admin: httpx.Client, name: str, points: int = 0) -> tuple[int, str]:
    account = admin.post("/admin/accounts", json={"name": name, "points": points}).json()
    key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()["key"]
    return int(account["id"]), str(key)


def _balance(gateway: GatewayProcess, key: str) -> int:
    got = httpx.get(
        gateway.url + "/usage/current_balance", headers={"authorization": f"Bearer {key}"}
    )
    return int(got.json()["current_point_balance"])


def _redeem(gateway: GatewayProcess, key: str, code: str) -> httpx.Response:
    return httpx.post(
        gateway.url + "/usage/redeem",
        json={"code": code},
        headers={"authorization": f"Bearer {key}"},
    )


def test_admin_creates_codes_and_a_user_redeems_one_once(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        account_id, key = _account(admin, "redeemer")
        made = admin.post(
            "/admin/redemptions", json={"points": 750, "count": 3, "name": "spring promo"}
        )
        assert made.status_code == 201, made.text
        codes = made.json()["data"]
        assert len(codes) == 3 and len({c["code"] for c in codes}) == 3
        assert all(c["status"] == "unused" and c["name"] == "spring promo" for c in codes)
        listed = admin.get("/admin/redemptions").json()["data"]
        assert {c["id"] for c in codes} <= {c["id"] for c in listed}
        assert all("code" not in c for c in listed)  # shown once, never listed
        assert codes[0]["code"] not in admin.get("/admin/redemptions").text

        assert _balance(gateway, key) == 0
        first = _redeem(gateway, key, codes[0]["code"])
        assert first.status_code == 200, first.text
        assert first.json()["points"] == 750 and first.json()["current_point_balance"] == 750
        assert _balance(gateway, key) == 750

        again = _redeem(gateway, key, codes[0]["code"])
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "code_already_redeemed"
        unknown = _redeem(gateway, key, "pbr-not-a-code")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "code_not_found"
        assert _redeem(gateway, key, "").status_code == 400
        assert _balance(gateway, key) == 750

        used = admin.get("/admin/redemptions", params={"status": "used"}).json()["data"]
        mine = [c for c in used if c["id"] == codes[0]["id"]]
        assert mine and mine[0]["redeemed_by"] == account_id and mine[0]["redeemed_at"]
        history = admin.get(f"/admin/accounts/{account_id}").json()
        assert history["point_balance"] == 750


def test_only_the_admin_creates_codes_and_bad_input_is_refused(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        _, key = _account(admin, "not-admin")
        user = {"authorization": f"Bearer {key}"}
        denied = httpx.post(gateway.url + "/admin/redemptions", json={"points": 5}, headers=user)
        assert denied.status_code == 403
        assert httpx.get(gateway.url + "/admin/redemptions", headers=user).status_code == 403
        assert httpx.post(gateway.url + "/usage/redeem", json={"code": "x"}).status_code == 401
        for bad in ({"points": 0}, {"points": 5, "count": 0}, {"points": "5"}, {}):
            got = admin.post("/admin/redemptions", json=bad)
            assert got.status_code == 400, (bad, got.text)
        past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        got = admin.post("/admin/redemptions", json={"points": 5, "expires_at": past})
        assert got.status_code == 400 and got.json()["error"]["param"] == "expires_at"


def test_an_expired_code_is_refused(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        _, key = _account(admin, "late")
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        code = admin.post("/admin/redemptions", json={"points": 5, "expires_at": soon}).json()
        time.sleep(1.2)
        got = _redeem(gateway, key, code["data"][0]["code"])
        assert got.status_code == 409 and got.json()["error"]["code"] == "code_expired"
        assert _balance(gateway, key) == 0
        listed = admin.get("/admin/redemptions").json()["data"]
        assert [c["status"] for c in listed if c["id"] == code["data"][0]["id"]] == ["expired"]


def test_cli_creates_and_lists_codes(gateway: GatewayProcess) -> None:
    made = cli(gateway.data_dir, "redemptions", "create", "--points", "40", "--count", "2",
               "--name", "from-cli", "--expires-in-days", "3")  # fmt: skip
    assert made.returncode == 0, made.stderr
    codes = [line for line in made.stdout.split() if line.startswith("pbr-")]
    assert len(codes) == 2
    listed = cli(gateway.data_dir, "redemptions", "list")
    assert listed.returncode == 0 and "from-cli" in listed.stdout
    assert not any(code in listed.stdout for code in codes)
    with gateway.admin() as admin:
        _, key = _account(admin, "cli-redeemer")
    assert _redeem(gateway, key, codes[1]).status_code == 200
    assert _balance(gateway, key) == 40
    assert "used" in cli(gateway.data_dir, "redemptions", "list").stdout


async def _race(urls: list[str], key: str, codes: list[str]) -> list[list[int]]:
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:

        async def both(code: str) -> list[int]:
            answers = await asyncio.gather(
                *(client.post(url + "/usage/redeem", json={"code": code}) for url in urls)
            )
            return sorted(a.status_code for a in answers)

        return list(await asyncio.gather(*(both(code) for code in codes)))


def test_two_instances_racing_for_one_code_top_up_once(tmp_path: Path) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_postgres() as url:
        env = {"PATCHBAY_DATABASE_URL": url}
        first = start_gateway(tmp_path / "a", env=env)
        second = start_gateway(tmp_path / "b", env=env)
        try:
            with first.admin() as admin:
                account_id, key = _account(admin, "racer", points=3)
                made = admin.post("/admin/redemptions", json={"points": 100, "count": 12})
                codes = [c["code"] for c in made.json()["data"]]
            outcomes = asyncio.run(_race([first.url, second.url], key, codes))
            assert outcomes == [[200, 409]] * len(codes)
            topups = query(
                url,
                "SELECT points FROM ledger_entries WHERE account_id = :a AND kind = 'topup'"
                " AND note LIKE 'redemption code %'",
                a=account_id,
            )
            assert sorted(t[0] for t in topups) == [100] * len(codes)
            used = query(url, "SELECT COUNT(*) FROM redemption_codes WHERE status = 'used'")
            assert used == [(len(codes),)]
            ledger_consistency(url)
            expected = 3 + 100 * len(codes)
            deadline = time.monotonic() + 10  # each instance hears of the other's within ~1 s
            balances: list[int] = []
            while balances != [expected, expected] and time.monotonic() < deadline:
                time.sleep(0.2)
                balances = [_balance(first, key), _balance(second, key)]
            assert balances == [expected, expected]
        finally:
            first.stop()
            second.stop()
