"""The gap split in two: the aiohttp passthrough, Patchbay's shell (bench/shell.py: its server
and client, none of its work) and Patchbay (one worker), side by side on Chat whole and
streamed, interleaved, medians of rounds. ``shell − passthrough`` is what the front end Patchbay
runs on costs against the floor; ``Patchbay − shell`` is the gateway's own per-call work (key,
limits, admission, routing, metering, settlement, request lines, metrics), which no change of
server or client can remove.

    python bench/split.py [--rounds 3] [--seconds 4]      (run.py calls it as part of make bench)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
import targets as t  # noqa: E402
from scenarios import BY_NAME  # noqa: E402

MEASURED = ("chat", "chat-stream")
TARGETS = ("passthrough", "shell", "patchbay")


def expected_seconds(rounds: int, seconds: int) -> float:
    return 30 + rounds * len(MEASURED) * len(TARGETS) * (seconds + 0.5)


def measure(upstream: t.Target, slow: t.Target, rounds: int, seconds: int) -> dict[str, Any]:
    started = {
        "passthrough": t.start_passthrough(upstream),
        "shell": t.start_shell(upstream),
        "patchbay": t.start_patchbay(upstream, slow, 1, name="split"),
    }
    runs: list[dict[str, Any]] = []
    try:
        missing = {n: s.why_not for n, s in started.items() if s.process is None}
        serving = [(n, s) for n, s in started.items() if s.process is not None]
        for _, system in serving:
            load.run(system, BY_NAME["chat"], 2)  # warm up
        for round_no in range(rounds):
            for name, system in serving if round_no % 2 == 0 else serving[::-1]:
                for scenario in MEASURED:
                    figures = load.run(system, BY_NAME[scenario], seconds)
                    runs.append({"round": round_no, "target": name, "scenario": scenario})
                    runs[-1].update(rps=figures["rps"], cpu_us=figures["cpu_us"])
                    runs[-1]["errors"] = figures["errors"]
                    print(
                        f"  split {name:11} {scenario:12} {figures['rps']:7.0f} req/s "
                        f"{figures['cpu_us']:5.0f} µs/req",
                        flush=True,
                    )
        return {"runs": runs, "missing": missing, "rounds": rounds, "seconds": seconds}
    finally:
        for system in started.values():
            system.stop()


def medians(split: dict[str, Any], target: str, scenario: str) -> tuple[float, float] | None:
    runs = [r for r in split["runs"] if r["target"] == target and r["scenario"] == scenario]
    if not runs:
        return None
    return (
        statistics.median(r["rps"] for r in runs),
        statistics.median(r["cpu_us"] for r in runs),
    )


def table(split: dict[str, Any] | None) -> list[str]:
    if not split:
        return ["Not measured in this run."]
    lines = [
        f"The gap split in two ({split['rounds']} interleaved rounds of {split['seconds']} s, "
        "medians, one worker each, c=16): *Patchbay's shell* is bench/shell.py — uvicorn with "
        "Patchbay's own HTTP protocol, its upstream client and its stream response, forwarding "
        "Chat with the model rewritten and nothing else. CPU is the server's, all its threads "
        "and processes, per request.",
        "",
        "| scenario | passthrough req/s · µs | shell req/s · µs | Patchbay req/s · µs "
        "| shell − passthrough µs | Patchbay − shell µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for scenario in MEASURED:
        found = {name: medians(split, name, scenario) for name in TARGETS}
        cells = [f"{f[0]:,.0f} · {f[1]:.0f}" if f else "n/a" for f in found.values()]
        front = _minus(found["shell"], found["passthrough"])
        own = _minus(found["patchbay"], found["shell"])
        lines.append(f"| `{scenario}` | " + " | ".join(cells) + f" | {front} | {own} |")
    for name, why in split.get("missing", {}).items():
        lines.append(f"\n- {name}: not measured — {why}")
    return lines


def _minus(a: tuple[float, float] | None, b: tuple[float, float] | None) -> str:
    return f"{a[1] - b[1]:+.0f}" if a and b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    upstream, slow = t.start_nginx(), t.start_slow()
    try:
        split = measure(upstream, slow, args.rounds, args.seconds)
    finally:
        slow.stop()
        upstream.stop()
    print("\n".join(table(split)))


if __name__ == "__main__":
    main()
