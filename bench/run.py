"""The benchmark harness: every target side by side, interleaved over rounds, one run.

    python bench/run.py [--rounds 3] [--seconds 5] [--quick]

Writes bench/.work/results.json, then docs/benchmarks.md and docs/benchmarks.png (report.py).
Everything listens on 127.0.0.1; every load is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import clients  # noqa: E402
import gains  # noqa: E402
import targets as t  # noqa: E402

LUA = HERE / "wrk" / "post.lua"


def body(model: str, stream: bool = False, **extra: object) -> str:
    data = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello to the bench."}],
        "stream": stream,
        **extra,
    }
    return json.dumps(data)


# same-protocol calls of the other client protocols: (path, body)
PROTOCOLS = {
    "anthropic-c16": (
        "/v1/messages",
        json.dumps(
            {
                "model": "bench-anthropic",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": "Say hello to the bench."}],
            }
        ),
    ),
    "gemini-c16": (
        "/v1beta/models/bench-gemini:generateContent",
        json.dumps({"contents": [{"role": "user", "parts": [{"text": "Say hello, bench."}]}]}),
    ),
}


def wrk(
    target: t.Target,
    connections: int,
    seconds: float,
    stream: bool = False,
    model: str | None = None,
    request: tuple[str, str] | None = None,
) -> dict[str, float]:
    """``request``: a (path, body) to send instead of the target's Chat call."""
    path = target.stream_path if stream else target.chat_path
    payload = body(model or (target.stream_model if stream else target.model), stream)
    if request is not None:
        path, payload = request
    env = {
        **os.environ,
        "BENCH_BODY": payload,
        "BENCH_KEY": target.key,
        "BENCH_PATH": path,
    }
    threads = 1 if connections == 1 else 2
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        target.url + path,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 30)
    line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": 1}
    data = json.loads(line)
    ok = data["requests"] - data["non2xx"]
    return {
        "rps": ok / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"] + data["non2xx"],
    }


class RSSWatch:
    """Samples the peak RSS (MB) of a target's serving processes while a load runs."""

    def __init__(self, target: t.Target) -> None:
        self.target, self.peak, self._stop = target, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.target.pids():
                self.peak = max(self.peak, t.rss_mb(pid))
            time.sleep(0.1)

    def __enter__(self) -> RSSWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def ttfb(target: t.Target, count: int) -> float:
    headers = {"content-type": "application/json"}
    if target.key:
        headers["authorization"] = f"Bearer {target.key}"
    url = target.url + target.stream_path
    return clients.ttfb_ms(url, body(target.stream_model, True).encode(), headers, count)


def memory(patchbay: t.Target, streams: int, chunks: int, seconds: float) -> dict[str, float]:
    headers = {"content-type": "application/json", "authorization": f"Bearer {patchbay.key}"}
    data = body("bench-slow", True, x_chunks=chunks, x_interval=seconds / chunks).encode()
    base = max(t.rss_mb(p) for p in patchbay.pids())
    with RSSWatch(patchbay) as watch:
        done = clients.open_streams(patchbay.url + "/v1/chat/completions", data, headers, streams)
    return {
        "base_mb": base,
        "peak_mb": watch.peak,
        "added_mb": watch.peak - base,
        "completed": done,
        "streams": streams,
        "chunks": chunks,
    }


def measure(args: argparse.Namespace) -> dict[str, object]:
    upstream, slow = t.start_nginx(), t.start_slow()
    started = [upstream, slow]
    try:
        systems = [
            upstream,
            t.start_passthrough(upstream),
            t.start_patchbay(upstream, slow, 1),
            t.start_patchbay(upstream, slow, 2),
            t.start_litellm(upstream),
        ]
        started += systems[1:]
        live = [s for s in systems if s.process is not None]
        results: dict[str, object] = {
            "targets": [s.name for s in systems],
            "available": [s.name for s in live],
            "runs": [],
        }
        runs: list[dict[str, object]] = results["runs"]  # type: ignore[assignment]
        for round_no in range(args.rounds):
            print(f"round {round_no + 1}/{args.rounds}", flush=True)
            for scenario, conns, stream in (
                ("c1", 1, False),
                ("c16", 16, False),
                ("c64", 64, False),
                ("stream-c16", 16, True),
            ):
                for system in live:
                    pids = system.pids()
                    before = gains.cpu_seconds(pids)
                    with RSSWatch(system) as watch:
                        figures = wrk(system, conns, args.seconds, stream)
                    served = figures["rps"] * args.seconds
                    cpu = (gains.cpu_seconds(pids) - before) / served * 1e6 if served else 0.0
                    runs.append(
                        {
                            "round": round_no,
                            "scenario": scenario,
                            "target": system.name,
                            **figures,
                            "peak_rss_mb": watch.peak,
                            "cpu_us": cpu,
                        }
                    )
                    print(
                        f"  {scenario:10} {system.name:22} {figures['rps']:9.0f} req/s "
                        f"p50 {figures['p50_ms']:.2f} ms",
                        flush=True,
                    )
            for system in live:
                runs.append(
                    {
                        "round": round_no,
                        "scenario": "ttfb-c1",
                        "target": system.name,
                        "ttfb_ms": ttfb(system, args.ttfb_count),
                    }
                )
            for system in live[2:4]:
                figures = wrk(system, 16, args.seconds, model="bench-translated")
                runs.append(
                    {
                        "round": round_no,
                        "scenario": "translated-c16",
                        "target": system.name,
                        **figures,
                    }
                )
            for scenario, request in PROTOCOLS.items():
                for system in live[1:4]:  # the passthrough floor, then Patchbay
                    pids = system.pids()
                    before = gains.cpu_seconds(pids)
                    figures = wrk(system, 16, args.seconds, request=request)
                    served = figures["rps"] * args.seconds
                    cpu = (gains.cpu_seconds(pids) - before) / served * 1e6 if served else 0.0
                    runs.append(
                        {
                            "round": round_no,
                            "scenario": scenario,
                            "target": system.name,
                            **figures,
                            "cpu_us": cpu,
                        }
                    )
                    print(
                        f"  {scenario:14} {system.name:22} {figures['rps']:9.0f} req/s",
                        flush=True,
                    )
        for system in live[2:]:
            system.stop()  # the memory runs each get a fresh Patchbay and the machine to itself
        if args.gains:
            print("what each change gained", flush=True)
            results["gains"] = gains.measure(upstream, slow, args.rounds, args.gain_seconds)
        for label, chunks in (("memory_short", 10), ("memory_long", 80)):
            fresh = t.start_patchbay(upstream, slow, 1)
            started.append(fresh)
            if fresh.process is not None:
                results[label] = memory(fresh, args.streams, chunks, args.stream_seconds)
            fresh.stop()
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
    parser.add_argument(
        "--no-gains", dest="gains", action="store_false", help="skip the per-change comparison"
    )
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, 200 streams")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.ttfb_count, args.streams = 1, 2, 50, 200
        args.gain_seconds = 2
    began = time.time()
    results = measure(args)
    results["method"] = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.python_version()}",
        "wall_s": round(time.time() - began),
        "quick": args.quick,
    }
    (t.WORK / "results.json").write_text(json.dumps(results, indent=1))
    import report

    report.write(results)
    print(f"done in {time.time() - began:.0f} s; see docs/benchmarks.md", flush=True)


if __name__ == "__main__":
    main()
