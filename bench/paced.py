"""Streams at an upstream's pace: what relaying one chunk costs when chunks come one by one.

The wrk scenarios' upstream (nginx) sends a whole stream in one write, so each of their streams
is one read and one write, and their figures are the cost of a call. A model's stream comes a
chunk every few tens of milliseconds, each its own read and write: there the cost per chunk is
what a long answer costs. Here the slow upstream (bench/slow_upstream.py) drips Chat chunks
to concurrent streams, once with 10 chunks a stream and once with 80 in the same time, through
the aiohttp passthrough and through Patchbay (1 worker, fresh); the server's CPU per stream at
each length, and per chunk the difference over the 70 extra chunks. Rounds interleave the two.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import clients
import gains
import targets as t
from scenarios import headers, request_body

STREAMS = 200  # concurrent streams per run
SECONDS = 2.0  # each stream's length in time, whatever its chunk count
LENGTHS = (10, 80)


def expected_seconds(rounds: int) -> float:
    return 20 + (1 + rounds) * len(LENGTHS) * 2 * (SECONDS + 1.5)


def cpu_per_stream(target: t.Target, chunks: int) -> float | None:
    """The target's CPU µs per stream over ``STREAMS`` concurrent streams of ``chunks``."""
    body = request_body("chat", "bench-slow", True)
    body |= {"x_chunks": chunks, "x_interval": SECONDS / chunks}
    pids = target.all_pids()
    before = gains.cpu_seconds(pids)
    done = clients.open_streams(
        target.url + "/v1/chat/completions",
        json.dumps(body).encode(),
        headers(target.key),
        STREAMS,
    )
    used = gains.cpu_seconds(pids) - before
    return used / STREAMS * 1e6 if done == STREAMS else None


def measure(upstream: t.Target, slow: t.Target, rounds: int) -> dict[str, Any]:
    """Per target, per stream length: CPU µs per stream in each round (None: a stream failed)."""
    systems = [t.start_passthrough(slow), t.start_patchbay(upstream, slow, 1)]
    runs: dict[str, dict[str, list[float | None]]] = {s.name: {} for s in systems}
    try:
        for system in systems:
            cpu_per_stream(system, LENGTHS[0])  # warm: connections, caches
        for round_no in range(rounds):
            for system in systems if round_no % 2 == 0 else systems[::-1]:
                for chunks in LENGTHS:
                    value = cpu_per_stream(system, chunks)
                    runs[system.name].setdefault(str(chunks), []).append(value)
                    shown = "failed" if value is None else f"{value:,.0f} µs CPU per stream"
                    print(f"  {system.name:22} {chunks:3} chunks: {shown}", flush=True)
    finally:
        for system in systems:
            system.stop()
    return {"streams": STREAMS, "seconds": SECONDS, "lengths": list(LENGTHS), "runs": runs}


def summary(paced: dict[str, Any], name: str) -> dict[str, float] | None:
    """Medians of rounds: CPU per stream at each length and per chunk (rounds with a failure
    left out)."""
    runs = paced["runs"].get(name) or {}
    short, long_ = (runs.get(str(n)) or [] for n in paced["lengths"])
    pairs = [(a, b) for a, b in zip(short, long_, strict=False) if a is not None and b is not None]
    if not pairs:
        return None
    extra = paced["lengths"][1] - paced["lengths"][0]
    return {
        "short": statistics.median(a for a, _ in pairs),
        "long": statistics.median(b for _, b in pairs),
        "per_chunk": statistics.median((b - a) / extra for a, b in pairs),
    }


def table(paced: dict[str, Any] | None) -> list[str]:
    if not paced:
        return ["Not measured."]
    short, long_ = paced["lengths"]
    seconds = paced["seconds"]
    rounds = len(next(iter(paced["runs"].values()))[str(short)])
    lines = [
        f"{paced['streams']} concurrent streams from the slow upstream, each {seconds:g} s "
        f"long: {short} chunks, then {long_} (one every {seconds / short * 1000:.0f} ms, "
        f"then every {seconds / long_ * 1000:.0f} ms). The server's CPU (all its threads) per "
        f"stream, medians of {rounds} rounds; per chunk, the difference over the "
        f"{long_ - short} extra chunks.",
        "",
        f"| target | CPU per stream, {short} chunks µs | {long_} chunks µs | per chunk µs |",
        "|---|---:|---:|---:|",
    ]
    found = {}
    for name in paced["runs"]:
        figures = summary(paced, name)
        found[name] = figures
        if figures is None:
            lines.append(f"| {name} | failed | failed | — |")
        else:
            lines.append(
                f"| {name} | {figures['short']:,.0f} | {figures['long']:,.0f} "
                f"| {figures['per_chunk']:.1f} |"
            )
    floor, mine = found.get("aiohttp passthrough"), found.get("patchbay (1 worker)")
    if floor and mine and floor["per_chunk"] > 0:
        lines += [
            "",
            f"A relayed chunk costs Patchbay {mine['per_chunk']:.1f} µs against the passthrough's "
            f"{floor['per_chunk']:.1f} ({mine['per_chunk'] / floor['per_chunk']:.2f}×; its own "
            f"{mine['per_chunk'] - floor['per_chunk']:+.1f} µs): the read, the relay, the write.",
        ]
    return lines
