"""How each agent CLI is pointed at the gateway and run non-interactively — the setup
``docs/clients.md`` describes, in a temporary HOME with telemetry and update checks off.

Each ``Agent`` writes its config files, builds its environment (nothing inherited but ``PATH``
and the locale) and its command line, and runs one prompt to completion.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.cli.tools import Tools

RUN_TIMEOUT_S = 180


@dataclass
class Run:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv[:1] + self.argv[1:4])} … (exit {self.returncode})\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )


@dataclass
class Setup:
    """One run's private directories and the gateway it talks to."""

    home: Path
    workdir: Path
    base_url: str  # the gateway's root URL, no /v1
    key: str

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            **extra,
        }


def _run(argv: list[str], setup: Setup, env: dict[str, str]) -> Run:
    setup.workdir.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            argv,
            cwd=setup.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return Run(argv, -1, out, err + f"\n[timed out after {RUN_TIMEOUT_S} s]")
    return Run(argv, done.returncode, done.stdout, done.stderr)


class Agent:
    name: str
    tool: str | None = None  # the CLI's own shell tool, for the tool turn

    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    def run(self, setup: Setup, model: str, prompt: str, *, allow_tools: bool = False) -> Run:
        raise NotImplementedError


class ClaudeCode(Agent):
    name = "claude-code"
    tool = "Bash"

    def run(self, setup: Setup, model: str, prompt: str, *, allow_tools: bool = False) -> Run:
        env = setup.env(
            ANTHROPIC_BASE_URL=setup.base_url,
            ANTHROPIC_AUTH_TOKEN=setup.key,
            ANTHROPIC_MODEL=model,
            ANTHROPIC_DEFAULT_OPUS_MODEL=model,
            ANTHROPIC_DEFAULT_SONNET_MODEL=model,
            ANTHROPIC_DEFAULT_HAIKU_MODEL=model,
            CLAUDE_CODE_MAX_CONTEXT_TOKENS="200000",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
        )
        argv = [self.tools.path("claude"), "-p", prompt, "--model", model]
        if allow_tools:
            argv += ["--allowedTools", "Bash"]
        return _run(argv, setup, env)


def codex_config(base_url: str, model: str) -> str:
    """``~/.codex/config.toml`` for the gateway (the key comes from an auth command, which is
    also what makes Codex ask the gateway for its model metadata)."""
    return f"""\
model = "{model}"
model_provider = "patchbay"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
remote_plugin = false
apps = false

[model_providers.patchbay]
name = "Patchbay"
base_url = "{base_url}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[model_providers.patchbay.auth]
command = "printenv"
args = ["PATCHBAY_API_KEY"]
"""


class Codex(Agent):
    name = "codex"
    tool = "exec_command"

    def run(self, setup: Setup, model: str, prompt: str, *, allow_tools: bool = False) -> Run:
        codex_home = setup.home / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(codex_config(setup.base_url, model))
        env = setup.env(CODEX_HOME=str(codex_home), PATCHBAY_API_KEY=setup.key)
        argv = [self.tools.path("codex"), "exec", "--skip-git-repo-check", "-m", model]
        if allow_tools:
            argv += ["--sandbox", "danger-full-access"]
        return _run([*argv, prompt], setup, env)


GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}


class GeminiCli(Agent):
    name = "gemini-cli"

    def run(self, setup: Setup, model: str, prompt: str, *, allow_tools: bool = False) -> Run:
        settings = setup.home / ".gemini" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(GEMINI_SETTINGS, indent=2))
        env = setup.env(
            GEMINI_API_KEY=setup.key,
            GOOGLE_GEMINI_BASE_URL=setup.base_url,
            GEMINI_CLI_TRUST_WORKSPACE="true",
        )
        return _run([self.tools.path("gemini"), "-p", prompt, "-m", model], setup, env)


def opencode_config(base_url: str, models: list[str]) -> dict[str, object]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "provider": {
            "patchbay": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Patchbay",
                "options": {"baseURL": f"{base_url}/v1", "apiKey": "{env:PATCHBAY_API_KEY}"},
                "models": {m: {"name": m} for m in models},
            }
        },
    }


class OpenCode(Agent):
    name = "opencode"

    def run(self, setup: Setup, model: str, prompt: str, *, allow_tools: bool = False) -> Run:
        config = setup.home / ".config" / "opencode" / "opencode.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(opencode_config(setup.base_url, [model]), indent=2))
        env = setup.env(
            PATCHBAY_API_KEY=setup.key,
            OPENCODE_DISABLE_MODELS_FETCH="1",
            OPENCODE_DISABLE_AUTOUPDATE="1",
            OPENCODE_DISABLE_SHARE="1",
            OPENCODE_DISABLE_LSP_DOWNLOAD="1",
        )
        argv = [self.tools.path("opencode"), "run", "-m", f"patchbay/{model}", prompt]
        return _run(argv, setup, env)


AGENTS: dict[str, type[Agent]] = {a.name: a for a in (ClaudeCode, Codex, GeminiCli, OpenCode)}
