"""Encryption at rest for secrets the gateway must replay (upstream API keys).

Keys are Fernet keys. ``secret_key`` may list several, comma separated: the first encrypts,
all of them decrypt (MultiFernet), so an operator rotates by putting a new key first and running
``patchbay rotate-secrets``. When no key is configured one is generated into
``<data dir>/secret.key`` with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SECRET_FILE = "secret.key"


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is required")
        import hashlib

        self._fingerprint = hashlib.sha256(b"patchbay-deployment:" + keys[0].encode()).hexdigest()[
            :12
        ]
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ValueError("secret_key must be url-safe base64 Fernet keys") from exc

    @property
    def fingerprint(self) -> str:
        """A short, non-secret id of the newest key (names this deployment's shared state)."""
        return self._fingerprint

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()


def write_private_file(path: Path, content: str) -> None:
    """Create ``path`` with mode 0600 (never readable by others, even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


def load_secret_box(secret_key: str | None, data_dir: Path) -> SecretBox:
    if secret_key:
        return SecretBox([k.strip() for k in secret_key.split(",") if k.strip()])
    path = data_dir / SECRET_FILE
    if not path.exists():
        write_private_file(path, Fernet.generate_key().decode() + "\n")
    return SecretBox([path.read_text(encoding="utf-8").strip()])
