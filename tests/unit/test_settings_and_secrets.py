from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from patchbay.security.api_keys import generate_key, hash_key
from patchbay.security.crypto import SecretBox, load_secret_box
from patchbay.settings import ConfigError, load_settings


def test_toml_sections_env_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "p.toml"
    config.write_text(
        "[server]\nport = 9000\nworkers = 3\n[billing]\npoints_per_usd = 7\n"
        '[[providers]]\nname = "x"\nkind = "echo"\n'
    )
    monkeypatch.setenv("PATCHBAY_WORKERS", "2")
    settings = load_settings(config, port=9100)
    assert settings.port == 9100 and settings.workers == 2 and settings.points_per_usd == 7
    assert settings.providers == [{"name": "x", "kind": "echo"}]


def test_invalid_settings_are_named(tmp_path: Path) -> None:
    config = tmp_path / "p.toml"
    config.write_text('[server]\nport = "high"\n')
    with pytest.raises(ConfigError, match="port"):
        load_settings(config)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_secret_rotation(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox([old]).encrypt("sk-upstream")
    rotated_box = SecretBox([new, old])
    assert rotated_box.decrypt(token) == "sk-upstream"
    rotated = rotated_box.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "sk-upstream"
    generated = load_secret_box(None, tmp_path)
    assert generated.decrypt(generated.encrypt("x")) == "x"
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_api_keys_are_random_and_hashed() -> None:
    a, b = generate_key(), generate_key()
    assert a != b and a.startswith("pb-") and len(a) >= 43
    assert hash_key(a) != a and len(hash_key(a)) == 64
