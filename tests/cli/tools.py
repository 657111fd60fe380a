"""The four agent CLIs, pinned and installed with npm into ``tests/.cli-tools/`` (outside git).

Installed once and reused while the pins match (``PINS`` below is written to ``pins.json`` in the
cache). Without npm, or when the registry cannot be reached, the tests skip with the reason;
with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
CACHE = Path(__file__).resolve().parent.parent / ".cli-tools"
# the current releases on the npm registry when these tests were written
PINS = {
    "@anthropic-ai/claude-code": "2.1.332",
    "@openai/codex": "0.171.0",
    "@google/gemini-cli": "0.61.0",
    "opencode-ai": "1.18.33",
}
BINARIES = {"claude": "claude", "codex": "codex", "gemini": "gemini", "opencode": "opencode"}
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Tools:
    bin_dir: Path

    def path(self, name: str) -> str:
        return str(self.bin_dir / BINARIES[name])


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"agent CLIs unavailable and CI=true requires them: {reason}")
    pytest.skip(f"agent CLIs unavailable: {reason} (set CI=true to make this fail)")


def _installed() -> bool:
    pins = CACHE / "pins.json"
    if not pins.exists() or json.loads(pins.read_text()) != PINS:
        return False
    return all((CACHE / "node_modules" / ".bin" / b).exists() for b in BINARIES.values())


def install() -> Tools:
    """The pinned CLIs, installed into the cache when missing (or skip/fail with the reason)."""
    bin_dir = CACHE / "node_modules" / ".bin"
    if _installed():
        return Tools(bin_dir)
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is not on PATH")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "pins.json").unlink(missing_ok=True)
    specs = [f"{name}@{version}" for name, version in PINS.items()]
    command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"]
    try:
        done = subprocess.run(
            [*command, str(CACHE), *specs],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
    except subprocess.TimeoutExpired:
        unavailable(f"npm install did not finish in {INSTALL_TIMEOUT_S} s")
    if done.returncode != 0:
        unavailable(f"npm install failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    missing = [b for b in BINARIES.values() if not (bin_dir / b).exists()]
    if missing:
        unavailable(f"npm install left no {', '.join(missing)} in {bin_dir}")
    (CACHE / "pins.json").write_text(json.dumps(PINS, indent=2))
    return Tools(bin_dir)
