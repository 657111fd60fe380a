"""Admin API, operator CLI and first start, against real processes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import openai

from tests.servers import GatewayProcess, start_gateway


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHBAY_")}
    env.update({"PATCHBAY_DATA_DIR": str(data_dir), "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "patchbay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_first_start_prints_admin_key_once(tmp_path: Path) -> None:
    first = start_gateway(tmp_path, admin_key=None)
    try:
        key_file = tmp_path / "admin.key"
        key = key_file.read_text().strip()
        assert key.startswith("pb-") and len(key) >= 43
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
        assert key in first.log()
        listing = httpx.get(
            first.url + "/admin/accounts", headers={"authorization": f"Bearer {key}"}
        )
        assert listing.json()["data"][0]["role"] == "admin"
    finally:
        assert first.stop() == 0
    second = start_gateway(tmp_path, admin_key=None)
    try:
        assert key not in second.log() and "Created the admin account" not in second.log()
    finally:
        second.stop()


def test_admin_api_accounts_credit_keys(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        created = admin.post("/admin/accounts", json={"name": "carol", "points": 10})
        assert created.status_code == 201
        account = created.json()
        assert account["point_balance"] == 10 and account["role"] == "user"
        assert admin.post("/admin/accounts", json={"name": "carol"}).status_code == 409
        bad = admin.post("/admin/accounts", json={"name": 5})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "name"
        credited = admin.post(
            f"/admin/accounts/{account['id']}/credit", json={"points": 90, "note": "welcome"}
        )
        assert credited.json()["point_balance"] == 100
        assert admin.get(f"/admin/accounts/{account['id']}").json()["point_balance"] == 100
        key = admin.post(
            f"/admin/accounts/{account['id']}/keys",
            json={
                "name": "ci",
                "allowed_models": ["echo"],
                "rpm": 60,
                "max_points": 1000,
                "expires_at": "2099-01-01T00:00:00Z",
            },
        ).json()
        assert key["key"].startswith("pb-") and key["rpm"] == 60
        listed = admin.get("/admin/keys").json()
        assert listed["object"] == "list"
        assert all("key" not in k for k in listed["data"])
        assert key["key"] not in str(listed)
        assert admin.get("/admin/accounts/99999").status_code == 404
    user = httpx.get(
        gateway.url + "/admin/accounts", headers={"authorization": f"Bearer {key['key']}"}
    )
    assert user.status_code == 403
    allowed = openai.OpenAI(base_url=gateway.openai_base, api_key=key["key"], max_retries=0)
    assert (
        allowed.chat.completions.create(model="echo", messages=[{"role": "user", "content": "ok"}])
        .choices[0]
        .message.content
        == "ok"
    )
    try:
        allowed.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "no"}]
        )
        raise AssertionError("expected 403")
    except openai.PermissionDeniedError as exc:
        assert exc.body["code"] == "model_not_allowed"  # type: ignore[index]


def test_admin_api_providers_and_models(gateway: GatewayProcess, user_key: str) -> None:
    with gateway.admin() as admin:
        provider = admin.post("/admin/providers", json={"name": "second-echo", "kind": "echo"})
        assert provider.status_code == 201, provider.text
        bad_kind = admin.post("/admin/providers", json={"name": "x", "kind": "nope"})
        assert bad_kind.status_code == 400 and bad_kind.json()["error"]["param"] == "kind"
        secret = admin.post(
            "/admin/providers",
            json={
                "name": "keyed",
                "kind": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "api_key": "sk-do-not-show",
            },
        )
        assert "sk-do-not-show" not in secret.text and secret.json()["has_api_key"]
        model = admin.post(
            "/admin/models",
            json={
                "id": "echo-2",
                "description": "another echo",
                "pricing": {"prompt": "0.000001", "completion": "0.000002"},
                "routes": [{"provider": "second-echo", "model": "echo"}],
            },
        )
        assert model.status_code == 201, model.text
        assert (
            admin.post("/admin/models", json={"id": "bad", "pricing": {"prompt": 0.1}}).status_code
            == 400
        )
        assert (
            admin.patch("/admin/models/echo-2", json={"description": "changed"}).json()[
                "description"
            ]
            == "changed"
        )
        assert "sk-do-not-show" not in admin.get("/admin/providers").text
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=user_key, max_retries=0)
    answer = client.chat.completions.create(
        model="echo-2", messages=[{"role": "user", "content": "via admin"}]
    )
    assert answer.choices[0].message.content == "via admin"
    with gateway.admin() as admin:
        assert admin.delete("/admin/models/echo-2").status_code == 200
    try:
        client.chat.completions.create(model="echo-2", messages=[{"role": "user", "content": "x"}])
        raise AssertionError("expected 404")
    except openai.NotFoundError:
        pass


def test_cli_accounts_keys_credit_models(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate").returncode == 0
    made = cli(tmp_path, "accounts", "create", "dave", "--points", "5")
    assert made.returncode == 0 and "dave" in made.stdout
    listed = cli(tmp_path, "accounts", "list")
    assert "dave" in listed.stdout
    key = cli(tmp_path, "keys", "create", "dave", "--name", "laptop", "--rpm", "9")
    secret = next(w for w in key.stdout.split() if w.startswith("pb-"))
    keys = cli(tmp_path, "keys", "list")
    assert "laptop" in keys.stdout and secret not in keys.stdout
    credited = cli(tmp_path, "credit", "dave", "95")
    assert "100" in credited.stdout
    assert cli(tmp_path, "keys", "revoke", "1").returncode == 0
    assert "revoked" in cli(tmp_path, "keys", "list").stdout
    missing = cli(tmp_path, "credit", "nobody", "5")
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert cli(tmp_path, "models", "list").returncode == 0


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[providers]]\nname = "p"\nkind = "martian"\n')
    result = cli(tmp_path, "serve", "--config", str(config), "--port", "0")
    assert result.returncode == 2
    assert "kind" in result.stderr and "Traceback" not in result.stderr
    config.write_text("this is not toml [")
    result = cli(tmp_path, "serve", "--config", str(config))
    assert result.returncode == 2 and "TOML" in result.stderr


def test_env_wins_over_toml_and_sigterm_exits_zero(tmp_path: Path) -> None:
    config = "[server]\nmax_body_bytes = 2048\n[billing]\npoints_per_usd = 5\n"
    gateway = start_gateway(tmp_path, config=config, env={"PATCHBAY_MAX_BODY_BYTES": "4096"})
    try:
        body = b'{"model":"echo","messages":[{"role":"user","content":"' + b"x" * 3000 + b'"}]}'
        response = httpx.post(
            gateway.openai_base + "/chat/completions",
            content=body,
            headers={
                "authorization": f"Bearer {gateway.admin_key}",
                "content-type": "application/json",
            },
        )
        assert response.status_code == 200  # 4096 from the environment, not 2048 from TOML
    finally:
        assert gateway.stop(signal.SIGTERM) == 0


def test_env_provider_key_is_resolved_at_start_and_never_stored(
    tmp_path: Path, fake_openai: object
) -> None:
    from tests.fake_openai import FakeOpenAI

    assert isinstance(fake_openai, FakeOpenAI)
    config = f"""
[[providers]]
name = "from-env"
kind = "openai"
base_url = "{fake_openai.base_url}"
api_key = "env:TEST_UPSTREAM_KEY"

[[models]]
id = "env-model"
routes = [ {{ provider = "from-env", model = "m" }} ]
"""
    gateway = start_gateway(tmp_path, config=config, env={"TEST_UPSTREAM_KEY": fake_openai.api_key})
    try:
        client = openai.OpenAI(
            base_url=gateway.openai_base, api_key=gateway.admin_key, max_retries=0
        )
        answer = client.chat.completions.create(
            model="env-model", messages=[{"role": "user", "content": "env"}]
        )
        assert answer.choices[0].message.content == "You said: env"
        ready = httpx.get(gateway.url + "/readyz").json()
        assert ready["checks"]["database"] == "ok"
    finally:
        gateway.stop()
    for path in tmp_path.glob("patchbay.db*"):
        assert fake_openai.api_key.encode() not in path.read_bytes()


def test_cli_rotate_secrets(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    config = tmp_path / "p.toml"
    config.write_text(
        f'[security]\nsecret_key = "{old}"\n[[providers]]\nname = "p"\n'
        'kind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-abc"\n'
    )
    started = start_gateway(tmp_path, config=config.read_text())
    started.stop()
    config.write_text(config.read_text().replace(f'"{old}"', f'"{new},{old}"'))
    result = cli(tmp_path, "rotate-secrets", "--config", str(config))
    assert result.returncode == 0 and "re-encrypted 1" in result.stdout
    config.write_text(config.read_text().replace(f'"{new},{old}"', f'"{new}"'))
    again = start_gateway(tmp_path, config=config.read_text())
    try:
        assert "cannot be decrypted" not in again.log()
    finally:
        again.stop()
