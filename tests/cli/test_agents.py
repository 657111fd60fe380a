"""The real agent CLIs — Claude Code, Codex CLI, Gemini CLI, OpenCode — against the real
gateway on each of the five upstream kinds: a one-turn prompt answered (exit 0, the upstream's
reply printed) and, for Claude Code and Codex, a turn in which the upstream calls the CLI's own
shell tool, the CLI runs it and the upstream answers after its result. Every upstream call is
billed exactly once.

A pair that fails because of the gateway is ``xfail(strict=True)`` with a pointer to its section
of ``tests/cli/FINDINGS.md``; strict, so it turns red the moment the gateway is fixed.
"""

from __future__ import annotations

import uuid

import pytest

from tests.cli.agents import AGENTS, Agent, Run, Setup
from tests.cli.conftest import KINDS, Rig, assert_billed_once
from tests.cli.tools import Tools

pytestmark = pytest.mark.slow

# (cli, kind) → the FINDINGS.md section that explains why the pair fails today (none fails now:
# F1 and F2 were fixed by the translation commit a8014a5)
BROKEN: dict[tuple[str, str], str] = {}
TOOL_AGENTS = ("claude-code", "codex")


def cases(agents: tuple[str, ...]) -> list[object]:
    out = []
    for name in agents:
        for kind in KINDS:
            marks = []
            if (name, kind) in BROKEN:
                reason = f"gateway bug, see tests/cli/FINDINGS.md {BROKEN[name, kind]}"
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            out.append(pytest.param(name, kind, marks=marks, id=f"{name}->{kind}"))
    return out


def agent(tools: Tools, name: str) -> Agent:
    return AGENTS[name](tools)


def context(rig: Rig, run: Run) -> str:
    calls = "\n".join(e.describe() for e in rig.recorder.model_calls()[-3:])
    return f"{run.describe()}\n--- the CLI's last model calls as the gateway answered them\n{calls}"


@pytest.mark.parametrize(("name", "kind"), cases(tuple(AGENTS)))
def test_one_turn(agent_tools: Tools, rig: Rig, setup: Setup, name: str, kind: str) -> None:
    marker = f"hello-{uuid.uuid4().hex[:8]}"
    model = f"via-{kind}"
    run = agent(agent_tools, name).run(setup, model, f"Please repeat {marker}")
    assert run.returncode == 0, context(rig, run)
    if kind == "echo":
        assert marker in run.stdout, context(rig, run)  # echo answers with the user's text
    else:
        assert "You said:" in run.stdout and marker in run.stdout, context(rig, run)
    assert_billed_once(rig, setup, kind, model)


@pytest.mark.parametrize(("name", "kind"), cases(TOOL_AGENTS))
def test_tool_turn(agent_tools: Tools, rig: Rig, setup: Setup, name: str, kind: str) -> None:
    cli = agent(agent_tools, name)
    marker = f"tool-{uuid.uuid4().hex[:8]}"
    command = f"echo {marker}-$((6*7))"  # the shell computes 42: proof the command really ran
    args = {"Bash": f'{{"command": "{command}", "description": "print a marker"}}'}.get(
        cli.tool or "", f'{{"cmd": "{command}"}}'
    )
    trigger = "!tool" if kind == "echo" else "call"
    model = f"via-{kind}"
    run = cli.run(setup, model, f"{trigger} {cli.tool} {args}", allow_tools=True)
    assert run.returncode == 0, context(rig, run)
    answered = "Tool result:" if kind == "echo" else "Tool said:"
    assert answered in run.stdout and f"{marker}-42" in run.stdout, context(rig, run)
    assert len(rig.recorder.model_calls()) >= 2, context(rig, run)
    assert_billed_once(rig, setup, kind, model)
