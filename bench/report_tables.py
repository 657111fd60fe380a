"""The report's tables: every scenario side by side, round by round, TTFB, memory, where the
time goes (py-spy), every figure, the gains of each change, and the chart."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from figures import FLOOR, PB1, PB2, PEER, UP, fmt, median, own_cpu, per_round, ratio, times
from figures import unavailable as why_not
from scenarios import BY_NAME, PROFILED, SCENARIOS, TTFB


def _cell(results: dict[str, Any], scenario: str, target: str, field: str, digits: int = 0) -> str:
    value = median(results["runs"], scenario, target, field)
    if value is None and target in results["targets"] and why_not(results, target, scenario):
        return "n/a¹"
    return fmt(value, digits)


def scenarios(results: dict[str, Any]) -> list[str]:
    lines = [
        "c=16 unless the scenario says; req/s and CPU are medians of rounds; the floor is the "
        "passthrough on the scenario's floor (the client protocol's same body for translated "
        "calls); own CPU = Patchbay's CPU per request − the floor's, same round.",
        "",
        "| scenario | floor | floor req/s | Patchbay req/s | ratio | 2 workers req/s "
        "| LiteLLM req/s | nginx req/s | floor CPU µs/req | Patchbay CPU µs/req "
        "| own CPU µs/call | own CPU, 2 workers | floor p99 ms | Patchbay p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        name, floor = scenario.name, scenario.floor
        if median(results["runs"], name, PB1, "rps") is None:
            continue
        label = f"`{name}`" + (" (extra)" if scenario.extra else "")
        lines.append(
            f"| {label}: {scenario.title()} | `{floor}` | {_cell(results, floor, FLOOR, 'rps')} "
            f"| {_cell(results, name, PB1, 'rps')} | {times(ratio(results, name))} "
            f"| {_cell(results, name, PB2, 'rps')} "
            f"| {_cell(results, name, PEER, 'rps') if scenario.litellm else '—'} "
            f"| {_cell(results, name, UP, 'rps') if 'nginx' in scenario.kinds() else '—'} "
            f"| {_cell(results, floor, FLOOR, 'cpu_us')} | {_cell(results, name, PB1, 'cpu_us')} "
            f"| {fmt(own_cpu(results, name))} | {fmt(own_cpu(results, name, PB2))} "
            f"| {_cell(results, floor, FLOOR, 'p99_ms', 2)} "
            f"| {_cell(results, name, PB1, 'p99_ms', 2)} |"
        )
    notes = [
        f"- {target} on `{scenario}`: {reason}"
        for target, reasons in results.get("unavailable", {}).items()
        for scenario, reason in reasons.items()
    ]
    if notes:
        lines += ["", "¹ not measured: the target's start-up check failed:", "", *notes]
    return lines


def rounds(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    lines = [
        "| round | passthrough req/s | Patchbay req/s | ratio | passthrough CPU µs/req "
        "| Patchbay CPU µs/req | own CPU µs/call |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rps = {k: per_round(runs, "chat", k, "rps") for k in (FLOOR, PB1)}
    cpu = {k: per_round(runs, "chat", k, "cpu_us") for k in (FLOOR, PB1)}
    for r in sorted(rps[PB1]):
        fl, pb = rps[FLOOR].get(r), rps[PB1][r]
        own = cpu[PB1][r] - cpu[FLOOR][r] if r in cpu[FLOOR] and r in cpu[PB1] else None
        lines.append(
            f"| {r + 1} | {fmt(fl)} | {fmt(pb)} | {times(pb / fl if fl else None)} "
            f"| {fmt(cpu[FLOOR].get(r))} | {fmt(cpu[PB1].get(r))} | {fmt(own)} |"
        )
    return lines


def ttfb(results: dict[str, Any]) -> list[str]:
    names = [n for n in results["targets"] if n != "slow upstream"]
    lines = [
        "Median time to the first body byte of a streamed answer, one call at a time (ms).",
        "",
        "| stream | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for name in TTFB:
        cells = [_cell(results, f"ttfb:{name}", n, "ttfb_ms", 3) for n in names]
        lines.append(f"| {BY_NAME[name].short()} | " + " | ".join(cells) + " |")
    return lines


def memory(results: dict[str, Any]) -> list[str]:
    lines = [
        "A fresh Patchbay (1 worker) serving concurrent slow Chat streams (one chunk every "
        "interval, the same total time): RSS before, peak during, added.",
        "",
        "| streams | chunks each | completed | RSS before MB | peak MB | added MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for label in ("memory_short", "memory_long"):
        m = results.get(label)
        if m:
            lines.append(
                f"| {m['streams']:,} | {m['chunks']} | {m['completed']:,} | {m['base_mb']:.1f} "
                f"| {m['peak_mb']:.1f} | {m['added_mb']:.1f} |"
            )
    return lines


def profile(results: dict[str, Any], top: bool = True) -> list[str]:
    data = results.get("profile")
    if not data:
        return ["Not profiled in this run (`--no-profile`)."]
    ok = {n: p for n, p in data.items() if not p.get("error")}
    lines = [
        "py-spy (500 Hz, non-blocking) on Patchbay's one worker during an extra wrk run of each "
        "scenario; raw collapsed stacks in `bench/.work/profile/`. Share of samples by area: "
        "each sample counts for the innermost frame in one of these areas (self time by "
        "area; 'other' has none: threads outside the request path, libraries called from "
        "no area). py-spy sees Python frames only: a C call — a socket write, orjson, "
        "httptools' parser, uvloop's loop — counts for the Python frame that made it, so an "
        "area that writes to a socket carries the cost of the system call.",
        "",
    ]
    for name, p in data.items():
        if p.get("error"):
            lines += [f"- `{name}`: not profiled — {p['error']}"]
    names = [n for n in PROFILED if n in ok]
    if not names:
        return lines
    areas = sorted(
        {a for p in ok.values() for a, _ in p["areas"]},
        key=lambda a: -statistics.mean(dict(ok[n]["areas"]).get(a, 0.0) for n in names),
    )
    lines += [
        "| area | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---:|" * len(names),
        "| samples (req/s under py-spy) | "
        + " | ".join(f"{ok[n]['samples']:,} ({fmt(ok[n].get('rps'))})" for n in names)
        + " |",
    ]
    for a in areas:
        cells = [f"{dict(ok[n]['areas']).get(a, 0.0) * 100:.1f}%" for n in names]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    ours = [sum(v for a, v in ok[n]["areas"] if a.startswith("patchbay.")) for n in names]
    lines.append(
        "| **all of patchbay.\\*** | " + " | ".join(f"**{v * 100:.1f}%**" for v in ours) + " |"
    )
    lines += ["", *(f"- {_reading(n, ok[n])}" for n in names)]
    if not top:
        return lines
    for name in names:
        lines += [
            "",
            f"Top functions by self time, `{name}`:",
            "",
            "| function | share |",
            "|---|---:|",
        ]
        lines += [f"| `{f}` | {share * 100:.1f}% |" for f, share in ok[name]["top"]]
    return lines


def _reading(name: str, summary: dict[str, Any]) -> str:
    """The profile in one sentence: Patchbay's own share and its largest areas, and the
    frameworks' (HTTP server, upstream client, event loop)."""
    areas = dict(summary["areas"])
    ours = sorted(
        ((a, v) for a, v in areas.items() if a.startswith("patchbay.")), key=lambda x: -x[1]
    )
    largest = ", ".join(f"{a} {v * 100:.0f}%" for a, v in ours[:3])
    frameworks = ", ".join(
        f"{label} {areas.get(a, 0.0) * 100:.0f}%"
        for a, label in (
            ("uvicorn/httptools", "the HTTP server (uvicorn/httptools)"),
            ("aiohttp client", "the upstream client (aiohttp)"),
            ("asyncio/uvloop", "the event loop"),
        )
    )
    top = summary["top"][0] if summary["top"] else ("n/a", 0.0)
    return (
        f"`{name}`: Patchbay's own code {sum(v for _, v in ours) * 100:.0f}% of the samples "
        f"(largest: {largest}); {frameworks}; the hottest function is `{top[0]}` "
        f"({top[1] * 100:.0f}%)."
    )


def figures(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    lines = [
        "| scenario | target | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB/worker "
        "| errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        for target in results["targets"]:
            rps = median(runs, scenario.name, target, "rps")
            if rps is None:
                continue
            errors = sum(
                r.get("errors", 0)
                for r in runs
                if r["scenario"] == scenario.name and r["target"] == target
            )
            cells = [
                fmt(median(runs, scenario.name, target, field), digits)
                for field, digits in (
                    ("p50_ms", 2),
                    ("p99_ms", 2),
                    ("cpu_us", 0),
                    ("peak_rss_mb", 1),
                )
            ]
            lines.append(
                f"| {scenario.name} | {target} | {fmt(rps)} | "
                + " | ".join(cells)
                + f" | {errors:.0f} |"
            )
    return lines


def gains_table(gains: dict[str, Any]) -> list[str]:
    """One row per change: its figures and what it gained over the revision before it."""
    runs = gains["runs"]

    def med(commit: str, field: str) -> float | None:
        values = [r[field] for r in runs if r["commit"] == commit and r.get(field) is not None]
        return statistics.median(values) if values else None

    lines = [
        f"Patchbay at successive commits ({gains['rounds']} round(s) of {gains['seconds']} s "
        "per scenario at c=16 and half that at c=1, revisions interleaved, one worker each, "
        "the same configuration; CPU is the server's, all threads, per request served). "
        "Generated by `bench/gains.py`.",
        "",
        "| change | commit | Chat c=16 req/s | gain | spread | CPU µs/req | gain "
        "| Chat stream c=16 req/s | gain | Anthropic stream c=16 req/s | gain "
        "| Responses stream c=16 req/s | gain "
        "| translated stream c=16 req/s | gain | c=1 p50 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous: dict[str, float] | None = None
    for change in gains["changes"]:
        commit = change["commit"]
        now = {
            f: med(commit, f)
            for f in (
                "rps",
                "cpu_us",
                "stream_rps",
                "anthropic_stream_rps",
                "responses_stream_rps",
                "translated_stream_rps",
                "c1_p50_ms",
            )
        }
        if now["rps"] is None:
            continue

        def gain(
            field: str, absolute: bool = False, now: Any = now, previous: Any = previous
        ) -> str:
            value, before = now[field], (previous or {}).get(field)
            if value is None or not before:
                return "—"
            return f"{value - before:+.0f}" if absolute else f"{(value / before - 1) * 100:+.0f}%"

        values = [r["rps"] for r in runs if r["commit"] == commit]
        spread = (max(values) - min(values)) / 2 / now["rps"] * 100 if now["rps"] else 0.0
        lines.append(
            f"| {change['label']} | `{change.get('sha', commit)[:7]}` | {fmt(now['rps'])} "
            f"| {gain('rps')} | ±{spread:.0f}% | {fmt(now['cpu_us'])} | {gain('cpu_us', True)} "
            f"| {fmt(now['stream_rps'])} | {gain('stream_rps')} "
            f"| {fmt(now['anthropic_stream_rps'])} | {gain('anthropic_stream_rps')} "
            f"| {fmt(now['responses_stream_rps'])} | {gain('responses_stream_rps')} "
            f"| {fmt(now['translated_stream_rps'])} | {gain('translated_stream_rps')} "
            f"| {fmt(now['c1_p50_ms'], 3)} |"
        )
        previous = {k: v for k, v in now.items() if v is not None}
    lines += [
        "",
        "Translated stream: Anthropic Messages on an openai upstream "
        "(`anthropic-on-openai-stream`). Spread: half the range of a revision's Chat c=16 "
        "rounds, against its median. A gain smaller than the spreads around it is within this "
        "machine's noise.",
    ]
    if gains.get("missing"):
        lines += ["", "Not measured:", ""] + [f"- {m}" for m in gains["missing"]]
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    shown = [s.name for s in SCENARIOS if not s.extra and s.connections == 16]
    names = [n for n in results["targets"] if n != UP and median(runs, "chat", n, "rps")]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [median(runs, s, name, "rps") or 0 for s in shown]
        if name == FLOOR:  # translated scenarios: the floor is the client protocol's run
            values = [median(runs, BY_NAME[s].floor, name, "rps") or 0 for s in shown]
        ax.bar([x + i * width for x in range(len(shown))], values, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(shown))], shown)
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.set_ylabel("requests/s at c=16 (median of rounds)")
    ax.set_title("Patchbay benchmark (generated by bench/run.py; nginx, the ceiling, not drawn)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
