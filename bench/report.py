"""Renders bench results into docs/benchmarks.md (tables, ratios, targets) and a PNG chart.
Every figure comes from results.json; nothing here is typed in by hand."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

DOCS = Path(__file__).parent.parent / "docs"
PB1, PB2 = "patchbay (1 worker)", "patchbay (2 workers)"
FLOOR, PEER, UP = "aiohttp passthrough", "LiteLLM proxy", "upstream (nginx)"


def median(runs: list[dict[str, Any]], scenario: str, target: str, field: str) -> float | None:
    values = [
        r[field] for r in runs if r["scenario"] == scenario and r["target"] == target and field in r
    ]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _table(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    lines = [
        "| scenario | target | req/s | p50 ms | p99 ms | peak RSS MB/worker |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario in (
        "c1",
        "c16",
        "c64",
        "stream-c16",
        "translated-c16",
        "anthropic-c16",
        "gemini-c16",
    ):
        for target in results["targets"]:
            rps = median(runs, scenario, target, "rps")
            if rps is None:
                continue
            lines.append(
                f"| {scenario} | {target} | {fmt(rps)} | "
                f"{fmt(median(runs, scenario, target, 'p50_ms'), 2)} | "
                f"{fmt(median(runs, scenario, target, 'p99_ms'), 2)} | "
                f"{fmt(median(runs, scenario, target, 'peak_rss_mb'), 1)} |"
            )
    lines += ["", "| streaming, one at a time | time to first byte (median ms) |", "|---|---:|"]
    for target in results["targets"]:
        value = median(runs, "ttfb-c1", target, "ttfb_ms")
        if value is not None:
            lines.append(f"| {target} | {fmt(value, 2)} |")
    return lines


def _verdict(ok: bool | None, text: str) -> str:
    mark = "n/a — not measured" if ok is None else ("**met**" if ok else "**missed**")
    return f"| {text} | {mark} |"


def _targets(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    pb, floor, peer = (median(runs, "c16", x, "rps") for x in (PB1, FLOOR, PEER))
    lines = ["| target | result |", "|---|---|"]
    if pb and floor:
        ratio = pb / floor
        lines.append(
            _verdict(
                ratio >= 0.7,
                f"c=16 throughput ≥ 0.7× the passthrough: "
                f"{ratio:.2f}× ({fmt(pb)} vs {fmt(floor)} req/s)",
            )
        )
    if pb and peer:
        ratio = pb / peer
        lines.append(_verdict(ratio >= 40, f"c=16 throughput ≥ 40× LiteLLM: {ratio:.1f}×"))
    else:
        lines.append(_verdict(None, "c=16 throughput ≥ 40× LiteLLM (LiteLLM did not run)"))
    up, pb1, fl1 = (median(runs, "c1", x, "p50_ms") for x in (UP, PB1, FLOOR))
    if up is not None and pb1 is not None and fl1 is not None:
        added_pb, added_floor = pb1 - up, fl1 - up
        ok = added_pb <= 1.5 * added_floor
        lines.append(
            _verdict(
                ok,
                f"c=1 added latency ≤ 1.5× the passthrough's: "
                f"{added_pb:.3f} ms vs {added_floor:.3f} ms "
                f"({added_pb / added_floor if added_floor else 0:.2f}×)",
            )
        )
    t_pb, t_fl = median(runs, "ttfb-c1", PB1, "ttfb_ms"), median(runs, "ttfb-c1", FLOOR, "ttfb_ms")
    if t_pb is not None and t_fl is not None:
        lines.append(
            _verdict(
                t_pb - t_fl <= 1.0,
                f"streaming TTFB within 1 ms of the passthrough: +{t_pb - t_fl:.3f} ms",
            )
        )
    w1, w2 = median(runs, "c16", PB1, "rps"), median(runs, "c16", PB2, "rps")
    lines.append(
        f"| workers: 1 → 2 at c=16 (no ratio required on 2 shared cores) | "
        f"{fmt(w1)} → {fmt(w2)} req/s |"
    )
    rss = median(runs, "c64", PB1, "peak_rss_mb")
    if rss is not None:
        lines.append(_verdict(rss <= 150, f"peak RSS per worker under c=64 ≤ 150 MB: {rss:.1f} MB"))
    short, long_ = results.get("memory_short"), results.get("memory_long")
    if short and long_:
        lines.append(
            _verdict(
                short["added_mb"] <= 200,
                f"{short['streams']} concurrent streams add ≤ 200 MB: "
                f"{short['added_mb']:.1f} MB ({short['completed']} completed)",
            )
        )
        grows = long_["added_mb"] > short["added_mb"] * 1.25 + 10
        lines.append(
            _verdict(
                not grows,
                f"memory per stream independent of length: "
                f"{short['chunks']} chunks {short['added_mb']:.1f} MB "
                f"vs {long_['chunks']} chunks {long_['added_mb']:.1f} MB",
            )
        )
    return lines


def gains_table(gains: dict[str, Any]) -> list[str]:
    """One row per change: its figures and what it gained over the revision before it."""
    runs = gains["runs"]

    def med(commit: str, field: str) -> float | None:
        values = [r[field] for r in runs if r["commit"] == commit]
        return statistics.median(values) if values else None

    lines = [
        f"Patchbay at successive commits ({gains['rounds']} round(s) of {gains['seconds']} s "
        "at c=16 and half that at c=1, revisions interleaved, one worker each; CPU is the "
        "server's, all threads, per request served). Generated by `bench/gains.py`.",
        "",
        "| change | commit | c=16 req/s | gain | spread | CPU µs/req | gain | c=1 p50 ms "
        "| Anthropic c=16 req/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous: tuple[float, float] | None = None
    for change in gains["changes"]:
        commit = change["commit"]
        rps, cpu, p50 = med(commit, "rps"), med(commit, "cpu_us"), med(commit, "c1_p50_ms")
        if rps is None or cpu is None:
            continue
        gain_rps = gain_cpu = "—"
        if previous is not None:
            gain_rps = f"{(rps / previous[0] - 1) * 100:+.0f}%"
            gain_cpu = f"{cpu - previous[1]:+.0f}"
        values = [r["rps"] for r in runs if r["commit"] == commit]
        spread = f"±{(max(values) - min(values)) / 2 / rps * 100:.0f}%" if rps else "n/a"
        lines.append(
            f"| {change['label']} | `{change.get('sha', commit)[:7]}` | {fmt(rps)} | {gain_rps} "
            f"| {spread} | {fmt(cpu)} | {gain_cpu} | {fmt(p50, 3)} "
            f"| {fmt(med(commit, 'anthropic_rps'))} |"
        )
        previous = (rps, cpu)
    lines += [
        "",
        "Spread: half the range of a revision's rounds, against its median. A gain smaller "
        "than the spreads around it is within this machine's noise.",
    ]
    if gains.get("missing"):
        lines += ["", f"Not measured (commit not found or did not start): {gains['missing']}."]
    return lines


def _protocols(results: dict[str, Any]) -> list[str]:
    """Each client protocol's same-protocol call beside the Chat fast path, against the bare
    passthrough forwarding the same body."""
    runs = results["runs"]
    lines = [
        "| call (c=16, whole answers) | passthrough req/s | Patchbay req/s | ratio "
        "| passthrough CPU µs/req | Patchbay CPU µs/req | Patchbay (2 workers) req/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "c16": "Chat Completions → openai",
        "anthropic-c16": "Anthropic Messages → anthropic",
        "gemini-c16": "Gemini generateContent → gemini",
    }
    for scenario, name in names.items():
        fl, pb = median(runs, scenario, FLOOR, "rps"), median(runs, scenario, PB1, "rps")
        if pb is None:
            continue
        ratio = f"{pb / fl:.2f}×" if fl else "n/a"
        lines.append(
            f"| {name} | {fmt(fl)} | {fmt(pb)} | {ratio} | "
            f"{fmt(median(runs, scenario, FLOOR, 'cpu_us'))} | "
            f"{fmt(median(runs, scenario, PB1, 'cpu_us'))} | "
            f"{fmt(median(runs, scenario, PB2, 'rps'))} |"
        )
    return lines


def _c16_detail(results: dict[str, Any]) -> list[str]:
    """Round by round at c=16, with the servers' CPU per request: how far apart the rounds are,
    and where the throughput difference comes from."""
    runs = [r for r in results["runs"] if r["scenario"] == "c16"]
    rounds = sorted({r["round"] for r in runs})

    def one(round_no: int, target: str, field: str) -> float | None:
        values = [r.get(field) for r in runs if r["round"] == round_no and r["target"] == target]
        return values[0] if values and values[0] is not None else None

    lines = [
        "| round | passthrough req/s | Patchbay req/s | ratio | passthrough CPU µs/req "
        "| Patchbay CPU µs/req |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for round_no in rounds:
        fl, pb = one(round_no, FLOOR, "rps"), one(round_no, PB1, "rps")
        ratio = f"{pb / fl:.2f}×" if fl and pb else "n/a"
        lines.append(
            f"| {round_no + 1} | {fmt(fl)} | {fmt(pb)} | {ratio} | "
            f"{fmt(one(round_no, FLOOR, 'cpu_us'))} | {fmt(one(round_no, PB1, 'cpu_us'))} |"
        )
    pb_cpu, fl_cpu = median(runs, "c16", PB1, "cpu_us"), median(runs, "c16", FLOOR, "cpu_us")
    if pb_cpu and fl_cpu:
        lines += [
            "",
            f"Both servers are CPU-bound here (one worker shares two cores with wrk and nginx): "
            f"Patchbay spends {pb_cpu - fl_cpu:.0f} µs more CPU per request than the bare "
            f"passthrough ({pb_cpu:.0f} vs {fl_cpu:.0f}, medians) — the key lookup, the rate "
            f"limiter, admission and settlement, the request validation and JSON rewrite "
            f"(model name in, cost fields out), and the write-behind of every charge — and "
            f"uvicorn's per-request cycle stands where the passthrough has aiohttp's server.",
        ]
    return lines


def _chart(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    scenarios = ["c1", "c16", "c64", "stream-c16"]
    names = [n for n in results["targets"] if median(runs, "c16", n, "rps") is not None]
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [median(runs, s, name, "rps") or 0 for s in scenarios]
        ax.bar([x + i * width for x in range(len(scenarios))], values, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(scenarios))], scenarios)
    ax.set_ylabel("requests/s (median of rounds)")
    ax.set_title("Patchbay benchmark (generated by bench/run.py)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(DOCS / "benchmarks.png", dpi=100)


def write(results: dict[str, Any]) -> None:
    DOCS.mkdir(exist_ok=True)
    method = results["method"]
    missing = sorted(set(results["targets"]) - set(results["available"]))
    text = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run.py); do not edit by hand.",
        "",
        f"Machine: {method['machine']}. {method['rounds']} round(s), {method['seconds']} s "
        f"per run, targets interleaved within each round; figures are medians of rounds. "
        f"Load: wrk (C) with a Lua script posting a Chat Completions body; TTFB and "
        f"concurrent streams: asyncio clients. Upstream: nginx returning fixed bodies. "
        f"Patchbay runs with auth, rate limits and metering on, on SQLite. "
        f"Whole run: {method['wall_s']} s." + (" **Quick mode.**" if method["quick"] else ""),
        "",
    ]
    if missing:
        text += [f"Not available in this run: {', '.join(missing)}.", ""]
    text += ["## Targets", ""] + _targets(results)
    text += ["", "### c=16, round by round", ""] + _c16_detail(results)
    text += ["", "### Every protocol's own path", ""] + _protocols(results)
    text += ["", "## Figures", ""] + _table(results)
    text += ["", "![requests per second](benchmarks.png)", ""]
    if results.get("gains"):
        text += ["## What each change gained", ""] + gains_table(results["gains"]) + [""]
    (DOCS / "benchmarks.md").write_text("\n".join(text) + "\n")
    try:
        _chart(results)
    except ImportError:
        pass
