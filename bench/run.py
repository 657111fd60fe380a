"""The benchmark harness: every scenario (bench/scenarios.py) on every target side by side,
interleaved within each round, medians of rounds, one run.

    python bench/run.py [--rounds 3] [--seconds 5] [--quick] [--no-gains] [--no-profile]
                        [--no-instructions]

Targets: nginx (the ceiling, on the upstream's own paths), the aiohttp passthrough (the floor),
Patchbay with 1 and 2 workers, LiteLLM's proxy. Each target's answer to each scenario is
checked once at start-up (bench/shapes.py). Then per round: every scenario at its concurrency
with wrk (req/s, p50, p99, server CPU per request), TTFB per streamed protocol one call at a
time; after the rounds: py-spy on Patchbay's worker per main scenario (bench/profiling.py),
the gains of each change (bench/gains.py), the gap split between the front end and the
gateway's own work (bench/split.py), the instructions per call counted by callgrind
(bench/instructions.py), memory under 1,000 slow streams on a fresh
Patchbay, and the CPU per chunk of streams at an upstream's pace (bench/paced.py). Writes
bench/.work/results.json, then docs/benchmarks.md and docs/benchmarks.png.
Everything listens on 127.0.0.1; every load is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import clients  # noqa: E402
import gains  # noqa: E402
import instructions  # noqa: E402
import load  # noqa: E402
import paced  # noqa: E402
import profiling  # noqa: E402
import shapes  # noqa: E402
import split  # noqa: E402
import targets as t  # noqa: E402
from scenarios import BY_NAME, PROFILED, SCENARIOS, TTFB, headers, request_body  # noqa: E402


def check_all(systems: list[t.Target]) -> list[str]:
    """Every target's answer to every scenario it runs, before anything is measured; the
    warnings (answers that only the SDKs' loose reading accepts)."""
    warnings = []
    for scenario in SCENARIOS:
        for system in systems:
            if system.process is None or system.kind not in scenario.kinds():
                continue
            reason, warning = shapes.check(system.url, system.key, system.kind, scenario)
            if warning:
                warnings.append(f"{system.name} on `{scenario.name}`: {warning}")
                print(f"  warning: {warnings[-1]}", flush=True)
            if reason is None:
                continue
            if system.kind == "litellm":
                system.unavailable[scenario.name] = reason
                print(f"  n/a: {system.name} on {scenario.name}: {reason}", flush=True)
                continue
            raise SystemExit(
                f"start-up check failed: {system.name} on {scenario.name} "
                f"({scenario.path(system.kind)}): {reason}"
            )
    print("start-up check: every answer measured is 200 and its protocol's shape", flush=True)
    return warnings


def serving(systems: list[t.Target], name: str) -> list[t.Target]:
    scenario = BY_NAME[name]
    return [
        s
        for s in systems
        if s.process is not None and s.kind in scenario.kinds() and name not in s.unavailable
    ]


def one_round(systems: list[t.Target], round_no: int, args: argparse.Namespace) -> list[Any]:
    runs: list[dict[str, Any]] = []
    for scenario in SCENARIOS:
        order = serving(systems, scenario.name)
        for system in order if round_no % 2 == 0 else order[::-1]:
            figures = load.run(system, scenario, args.seconds)
            runs.append(
                {"round": round_no, "scenario": scenario.name, "target": system.name, **figures}
            )
            print(
                f"  {scenario.name:30} {system.name:22} {figures['rps']:8.0f} req/s "
                f"p50 {figures['p50_ms']:6.2f} p99 {figures['p99_ms']:6.2f} ms "
                f"{figures['cpu_us']:5.0f} µs CPU/req"
                + (f"  {figures['errors']:.0f} errors" if figures["errors"] else ""),
                flush=True,
            )
    for name in TTFB:
        scenario = BY_NAME[name]
        for system in serving(systems, name):
            url = system.url + scenario.path(system.kind)
            value = clients.ttfb_ms(
                url, scenario.body().encode(), headers(system.key), args.ttfb_count
            )
            runs.append({"round": round_no, "scenario": f"ttfb:{name}", "target": system.name})
            runs[-1]["ttfb_ms"] = value
    return runs


def memory(patchbay: t.Target, streams: int, chunks: int, seconds: float) -> dict[str, float]:
    body = request_body("chat", "bench-slow", True)
    body |= {"x_chunks": chunks, "x_interval": seconds / chunks}
    base = max(t.rss_mb(p) for p in patchbay.pids())
    with load.RSSWatch(patchbay) as watch:
        done = clients.open_streams(
            patchbay.url + "/v1/chat/completions",
            json.dumps(body).encode(),
            headers(patchbay.key),
            streams,
        )
    return {
        "base_mb": base,
        "peak_mb": watch.peak,
        "added_mb": watch.peak - base,
        "completed": done,
        "streams": streams,
        "chunks": chunks,
    }


def expected_seconds(args: argparse.Namespace) -> float:
    litellm = (t.WORK / "litellm-venv" / "bin" / "litellm").exists()
    # nginx and the passthrough once, Patchbay twice (1 and 2 workers), LiteLLM if installed
    count = {"nginx": 1, "passthrough": 1, "patchbay": 2, "litellm": 1 if litellm else 0}
    runs = sum(count[k] for s in SCENARIOS for k in s.kinds())
    per_round = runs * (args.seconds + 0.4) + len(TTFB) * args.ttfb_count * (
        0.006 + (0.03 if litellm else 0)
    )
    total = 20 + (20 if litellm else 0) + args.rounds * per_round
    if args.profile:
        total += len(PROFILED) * (args.profile_seconds + 5)
    if args.gains:
        total += gains.expected_seconds(args.rounds, args.gain_seconds)
    total += split.expected_seconds(args.rounds, args.gain_seconds)
    if args.instructions:
        total += instructions.expected_seconds()
    total += paced.expected_seconds(args.rounds)
    return total + 2 * (15 + args.stream_seconds)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    upstream, slow = t.start_nginx(), t.start_slow()
    started = [upstream, slow]
    try:
        systems = [upstream, t.start_passthrough(upstream)]
        started.append(systems[1])
        for workers in (1, 2):
            systems.append(t.start_patchbay(upstream, slow, workers))
            started.append(systems[-1])
            if systems[-1].process is None:
                raise SystemExit(f"{systems[-1].name} {systems[-1].why_not}")
        litellm_version = ""
        if args.litellm:
            systems.append(t.start_litellm(upstream))
            started.append(systems[-1])
            litellm_version = systems[-1].version
        warnings = check_all(systems)
        results: dict[str, Any] = {
            "warnings": warnings,
            "litellm_version": litellm_version,
            "targets": [s.name for s in systems],
            "available": [s.name for s in systems if s.process is not None],
            "not_started": {s.name: s.why_not for s in systems if s.process is None},
            "unavailable": {s.name: s.unavailable for s in systems if s.unavailable},
            "scenarios": [
                {
                    "name": s.name,
                    "title": s.title(),
                    "floor": s.floor,
                    "translated": s.translated,
                    "stream": s.stream,
                    "connections": s.connections,
                    "extra": s.extra,
                }
                for s in SCENARIOS
            ],
            "runs": [],
        }
        for round_no in range(args.rounds):
            print(f"round {round_no + 1}/{args.rounds}", flush=True)
            results["runs"] += one_round(systems, round_no, args)
        if args.profile:
            print("where the time goes (py-spy on patchbay's worker)", flush=True)
            results["profile"] = {}
            for name in PROFILED:
                summary = profiling.record(systems[2], BY_NAME[name], args.profile_seconds)
                results["profile"][name] = summary
                print(f"  {name}: {summary.get('error') or summary['areas'][:4]}", flush=True)
        for system in systems[1:]:
            system.stop()  # the rest each get a fresh Patchbay and the machine to itself
        if args.gains:
            print("what each change gained", flush=True)
            results["gains"] = gains.measure(upstream, slow, args.rounds, args.gain_seconds)
        print("the gap split: passthrough, Patchbay's shell, Patchbay", flush=True)
        results["split"] = split.measure(upstream, slow, args.rounds, args.gain_seconds)
        if args.instructions:
            print("instructions per call (callgrind, in-process)", flush=True)
            results["instructions"] = instructions.measure()
        for label, chunks in (("memory_short", 10), ("memory_long", 80)):
            fresh = t.start_patchbay(upstream, slow, 1)
            started.append(fresh)
            if fresh.process is not None:
                results[label] = memory(fresh, args.streams, chunks, args.stream_seconds)
                print(f"  {label}: {results[label]}", flush=True)
            fresh.stop()
        print("streams at an upstream's pace: the CPU per relayed chunk", flush=True)
        results["paced"] = paced.measure(upstream, slow, args.rounds)
        return results
    finally:
        for process in reversed(started):
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--ttfb-count", type=int, default=200)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--stream-seconds", type=float, default=6)
    parser.add_argument("--gain-seconds", type=int, default=4)
    parser.add_argument("--profile-seconds", type=float, default=5)
    parser.add_argument("--no-gains", dest="gains", action="store_false", help="skip gains.py")
    parser.add_argument(
        "--no-instructions", dest="instructions", action="store_false", help="no callgrind"
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="no py-spy")
    parser.add_argument("--no-litellm", dest="litellm", action="store_false", help="skip LiteLLM")
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 2 s, 200 streams, 2 s profiles"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.ttfb_count, args.streams = 1, 2, 50, 200
        args.gain_seconds, args.profile_seconds = 2, 2
    print(f"expected duration: about {expected_seconds(args) / 60:.0f} min", flush=True)
    began = time.time()
    revision = t.revision()  # before the run: what is measured is the tree as it is now
    results = measure(args)
    litellm_version = results.pop("litellm_version", "")
    results["method"] = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "ttfb_count": args.ttfb_count,
        "machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.python_version()}",
        "wall_s": round(time.time() - began),
        "quick": args.quick,
        "revision": revision,
        "versions": {"LiteLLM proxy": litellm_version},
    }
    (t.WORK / "results.json").write_text(json.dumps(results, indent=1))
    import report

    report.write(results)
    for line in report.console(results):
        print(line)
    print(f"done in {time.time() - began:.0f} s; see docs/benchmarks.md", flush=True)


if __name__ == "__main__":
    main()
