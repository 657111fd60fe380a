"""Renders bench results into docs/benchmarks.md (method, the issue's targets met or missed,
every scenario side by side, where the time goes, the gains of each change) and a PNG chart.
Every figure comes from results.json; nothing here is typed in by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import instructions
import paced
import report_tables as tables
import split
from figures import FLOOR, PB1, fmt, median, own_cpu, ratio, times, verdict
from scenarios import BY_NAME, PROTOCOL_NAMES, RATIO_TARGETS, TTFB

DOCS = Path(__file__).parent.parent / "docs"
OWN_CPU_LIMIT_US = 40.0
P99_LIMIT = 1.5
TTFB_LIMIT_MS = 0.3
STREAMS_LIMIT_MB = 40.0
STREAMS_WANTED = 1000


def _row(text: str, figures: str, ok: bool | None) -> str:
    return f"| {text} | {figures} | {verdict(ok)} |"


def _floor_words(name: str) -> str:
    scenario = BY_NAME[name]
    if scenario.translated:
        how = "streaming" if scenario.stream else "forwarding"
        return f"the passthrough {how} the same {PROTOCOL_NAMES[scenario.protocol]} body"
    return "the passthrough"


def targets(results: dict[str, Any]) -> list[str]:
    """Exactly issue 16's targets, each met or missed with its figures."""
    runs = results["runs"]
    lines = ["| target | figures | result |", "|---|---|---|"]
    for name, least in RATIO_TARGETS.items():
        value = ratio(results, name)
        pb, fl = median(runs, name, PB1, "rps"), median(runs, BY_NAME[name].floor, FLOOR, "rps")
        lines.append(
            _row(
                f"`{name}` ({BY_NAME[name].short()}) at c=16 ≥ {least}× {_floor_words(name)}",
                f"{times(value)} ({fmt(pb)} vs {fmt(fl)} req/s)",
                None if value is None else value >= least,
            )
        )
    own = own_cpu(results, "chat")
    pb_cpu, fl_cpu = median(runs, "chat", PB1, "cpu_us"), median(runs, "chat", FLOOR, "cpu_us")
    lines.append(
        _row(
            f"the gateway's own CPU per call on the Chat fast path ≤ {OWN_CPU_LIMIT_US:.0f} µs "
            "(its CPU per request minus the passthrough's; every scenario below)",
            f"{fmt(own)} µs ({fmt(pb_cpu)} − {fmt(fl_cpu)} µs/req)",
            None if own is None else own <= OWN_CPU_LIMIT_US,
        )
    )
    for name in RATIO_TARGETS:
        value = ratio(results, name, "p99_ms")
        pb = median(runs, name, PB1, "p99_ms")
        fl = median(runs, BY_NAME[name].floor, FLOOR, "p99_ms")
        lines.append(
            _row(
                f"p99 at c=16 ≤ {P99_LIMIT}× the passthrough's: `{name}`",
                f"{fmt(pb, 2)} vs {fmt(fl, 2)} ms ({times(value)})",
                None if value is None else value <= P99_LIMIT,
            )
        )
    for name in TTFB:
        pb = median(runs, f"ttfb:{name}", PB1, "ttfb_ms")
        fl = median(runs, f"ttfb:{name}", FLOOR, "ttfb_ms")
        gap = None if pb is None or fl is None else pb - fl
        lines.append(
            _row(
                f"TTFB within {TTFB_LIMIT_MS} ms of the passthrough: {BY_NAME[name].short()}",
                f"{fmt(pb, 3)} vs {fmt(fl, 3)} ms ({'n/a' if gap is None else f'{gap:+.3f} ms'})",
                None if gap is None else gap <= TTFB_LIMIT_MS,
            )
        )
    lines += _memory_rows(results)
    return lines


def _memory_rows(results: dict[str, Any]) -> list[str]:
    short, long_ = results.get("memory_short"), results.get("memory_long")
    if not short or not long_:
        return [_row("1,000 concurrent streams add ≤ 40 MB; flat with stream length", "", None)]
    full = short["streams"] >= STREAMS_WANTED and short["completed"] == short["streams"]
    ok = short["added_mb"] <= STREAMS_LIMIT_MB if full else None
    note = "" if full else " — not judged: fewer streams than the target's, or some failed"
    growth = long_["added_mb"] - short["added_mb"]
    allowed = max(3.0, 0.1 * short["added_mb"])
    return [
        _row(
            f"{STREAMS_WANTED:,} concurrent streams add ≤ {STREAMS_LIMIT_MB:.0f} MB",
            f"{short['added_mb']:.1f} MB for {short['streams']:,} streams "
            f"({short['completed']:,} completed){note}",
            ok,
        ),
        _row(
            f"memory flat with stream length: {short['chunks']} vs {long_['chunks']} chunks "
            "(growth ≤ 3 MB or 10%)",
            f"{short['added_mb']:.1f} vs {long_['added_mb']:.1f} MB ({growth:+.1f} MB)",
            growth <= allowed if long_["completed"] == long_["streams"] else None,
        ),
    ]


def _method(results: dict[str, Any]) -> list[str]:
    method = results["method"]
    lines = [
        f"Patchbay at `{method.get('revision', 'unknown')}`. "
        f"Machine: {method['machine']}. {method['rounds']} round(s), {method['seconds']} s per "
        "run; in each round every scenario runs on every target in turn (the order reversed "
        "every other round); figures are medians of rounds, and a ratio is the median of the "
        "rounds' ratios (each measured side by side in its round). Load: wrk (C) with a Lua "
        "script posting each scenario's body; TTFB (one call at a time, "
        f"{method.get('ttfb_count', 'n/a')} calls) and concurrent streams: asyncio clients. "
        "Upstream: nginx returning fixed answers and SSE streams, shaped as each API sends "
        "them. Every target's answer to every scenario was checked once at start-up: 200 and "
        "its protocol's shape by the official SDKs' types, with the expected text. "
        f"Whole run: {method['wall_s']} s." + (" **Quick mode.**" if method["quick"] else ""),
        "",
        "Patchbay runs as shipped: auth, rate limits, admission and metering on SQLite, "
        "request lines written (log level info). The floor is a bare aiohttp passthrough "
        "forwarding each call's body to the same nginx path as Patchbay's route; for a "
        "translated call (a client on another protocol's upstream) the floor is the "
        "passthrough streaming the client protocol's same body. Server CPU is every process "
        "and thread of the target; the gateway's own CPU per call is Patchbay's CPU per "
        "request minus the passthrough's on the floor, in the same round."
        + (
            f" LiteLLM {method['versions']['LiteLLM proxy']}, one worker."
            if (method.get("versions") or {}).get("LiteLLM proxy")
            else ""
        ),
    ]
    problems = []
    for name, why in results.get("not_started", {}).items():
        problems.append(f"{name} did not run: {why}")
    for name, scenarios in results.get("unavailable", {}).items():
        for scenario, why in scenarios.items():
            problems.append(f"{name} on `{scenario}`: n/a — {why}")
    if problems:
        lines += ["", "Not measured:", ""] + [f"- {p}" for p in problems]
    if results.get("warnings"):
        lines += ["", "Answers the pinned SDKs read only loosely (measured all the same):", ""]
        lines += [f"- {w}" for w in results["warnings"]]
    errors = [r for r in results["runs"] if r.get("errors")]
    if errors:
        lines += ["", "Runs with errors or non-2xx answers (not counted in req/s):", ""]
        lines += [
            f"- round {r['round'] + 1}, `{r['scenario']}`, {r['target']}: {r['errors']:.0f}"
            for r in errors
        ]
    return lines


def write(results: dict[str, Any]) -> None:
    DOCS.mkdir(exist_ok=True)
    text = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run.py); do not edit by hand.",
        "",
    ]
    text += _method(results)
    text += ["", "## Targets (issue 16)", ""] + targets(results)
    text += ["", "## Every scenario", ""] + tables.scenarios(results)
    text += ["", "### Non-streamed Chat at c=16, round by round", ""] + tables.rounds(results)
    text += ["", "### Time to first byte", ""] + tables.ttfb(results)
    text += ["", "### Memory under concurrent streams", ""] + tables.memory(results)
    text += ["", "### Streams at an upstream's pace", ""] + paced.table(results.get("paced"))
    text += ["", "## Where the time goes", ""] + split.table(results.get("split"))
    text += [""] + instructions.table(results.get("instructions"))
    text += [""] + tables.profile(results)
    text += ["", "## Figures", ""] + tables.figures(results)
    text += ["", "![requests per second](benchmarks.png)", ""]
    if results.get("gains"):
        text += ["## What each change gained", ""] + tables.gains_table(results["gains"]) + [""]
    (DOCS / "benchmarks.md").write_text("\n".join(text) + "\n")
    try:
        tables.chart(results, DOCS / "benchmarks.png")
    except ImportError:
        pass


def console(results: dict[str, Any]) -> list[str]:
    """What run.py prints at the end: the targets and where the time goes."""
    return ["", "Targets (issue 16)", *targets(results), "", "Where the time goes"] + (
        split.table(results.get("split"))
        + [""]
        + instructions.table(results.get("instructions"))
        + tables.profile(results, top=False)
        + ["", "Streams at an upstream's pace"]
        + paced.table(results.get("paced"))
    )


def gains_table(gains: dict[str, Any]) -> list[str]:
    return tables.gains_table(gains)
