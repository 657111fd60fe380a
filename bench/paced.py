"""Streams at an upstream's pace: what relaying one chunk costs when chunks come one by one.

The wrk scenarios' upstream (nginx) sends a whole stream in one write, so each of their streams
is one read and one write, and their figures are the cost of a call. A model's stream comes a
chunk every few tens of milliseconds, each its own read and write: there the cost per chunk is
what a long answer costs. Here the slow upstream (bench/slow_upstream.py) drips Chat chunks
to concurrent streams, 10 chunks a stream and then 80, through the aiohttp passthrough and
through Patchbay (1 worker, fresh) for a Chat client and for an Anthropic client (translated);
the server's CPU per stream at each length, and per chunk the difference over the 70 extra
chunks. Rounds interleave the three.
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
INTERVAL_S = 0.025  # between two chunks of a stream
LENGTHS = (10, 80)
TRANSLATED = "patchbay (1 worker), Anthropic client"  # on the same openai upstream


def expected_seconds(rounds: int) -> float:
    each = sum(n * INTERVAL_S + 1.5 for n in LENGTHS)
    return 20 + (1 + rounds) * 3 * each


def cpu_per_stream(target: t.Target, chunks: int, translated: bool = False) -> float | None:
    """The target's CPU µs per stream over ``STREAMS`` concurrent streams of ``chunks``: a Chat
    client's, or an Anthropic client's (translated to the upstream's Chat; the slow upstream
    reads its chunk count from the max tokens, as the ``x_`` fields do not pass)."""
    if translated:
        body = request_body("anthropic", "bench-slow", True) | {"max_tokens": chunks}
        path, end = "/v1/messages", b"message_stop"
    else:
        body = request_body("chat", "bench-slow", True)
        body |= {"x_chunks": chunks, "x_interval": INTERVAL_S}
        path, end = "/v1/chat/completions", b"[DONE]"
    pids = target.all_pids()
    before = gains.cpu_seconds(pids)
    done = clients.open_streams(
        target.url + path, json.dumps(body).encode(), headers(target.key), STREAMS, end
    )
    used = gains.cpu_seconds(pids) - before
    return used / STREAMS * 1e6 if done == STREAMS else None


def measure(upstream: t.Target, slow: t.Target, rounds: int) -> dict[str, Any]:
    """Per client, per stream length: CPU µs per stream in each round (None: a stream failed)."""
    passthrough, patchbay = t.start_passthrough(slow), t.start_patchbay(upstream, slow, 1)
    clients_ = [
        (passthrough.name, passthrough, False),
        (patchbay.name, patchbay, False),
        (TRANSLATED, patchbay, True),
    ]
    runs: dict[str, dict[str, list[float | None]]] = {name: {} for name, _, _ in clients_}
    try:
        for _, target, translated in clients_:
            cpu_per_stream(target, LENGTHS[0], translated)  # warm: connections, caches
        for round_no in range(rounds):
            for name, target, translated in clients_ if round_no % 2 == 0 else clients_[::-1]:
                for chunks in LENGTHS:
                    value = cpu_per_stream(target, chunks, translated)
                    runs[name].setdefault(str(chunks), []).append(value)
                    shown = "failed" if value is None else f"{value:,.0f} µs CPU per stream"
                    print(f"  {name:38} {chunks:3} chunks: {shown}", flush=True)
    finally:
        patchbay.stop()
        passthrough.stop()
    return {"streams": STREAMS, "interval_s": INTERVAL_S, "lengths": list(LENGTHS), "runs": runs}


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
    rounds = len(next(iter(paced["runs"].values()))[str(short)])
    lines = [
        f"{paced['streams']} concurrent streams from the slow upstream (Chat Completions), a chunk "
        f"every {paced['interval_s'] * 1000:.0f} ms: {short} chunks a stream, then {long_}. The "
        f"server's CPU (all its threads) per stream, medians of {rounds} rounds; per chunk, the "
        f"difference over the {long_ - short} extra chunks. The Anthropic client's streams are "
        "translated (as Claude Code's on an OpenAI-compatible upstream).",
        "",
        f"| client, server | CPU per stream, {short} chunks µs | {long_} chunks µs "
        "| per chunk µs |",
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
    floor = found.get("aiohttp passthrough")
    if not floor or floor["per_chunk"] <= 0:
        return lines
    words = []
    for name, what in (("patchbay (1 worker)", "relayed"), (TRANSLATED, "translated")):
        mine = found.get(name)
        if mine:
            words.append(
                f"a {what} chunk costs Patchbay {mine['per_chunk']:.1f} µs "
                f"({mine['per_chunk'] / floor['per_chunk']:.2f}×, its own "
                f"{mine['per_chunk'] - floor['per_chunk']:+.1f} µs)"
            )
    if words:
        lines += [
            "",
            f"Against the passthrough's {floor['per_chunk']:.1f} µs a chunk (a read and a "
            f"write), {'; '.join(words)}.",
        ]
    return lines
