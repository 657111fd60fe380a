"""One timed load: wrk posting a scenario's body to a target, with the target's CPU time per
request served (all its processes, all threads) and the peak RSS of its serving processes."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import gains
import targets as t
from scenarios import Scenario

LUA = Path(__file__).parent / "wrk" / "post.lua"


def wrk(
    url: str, key: str, path: str, body: str, connections: int, seconds: float
) -> dict[str, float]:
    env = {**os.environ, "BENCH_BODY": body, "BENCH_KEY": key, "BENCH_PATH": path}
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    cmd += ["--timeout", "10s", "-s", str(LUA), url + path]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 30)
    line = next((x for x in out.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": 1, "requests": 0}
    data = json.loads(line)
    ok = data["requests"] - data["non2xx"]
    return {
        "rps": ok / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["errors"] + data["non2xx"],
        "requests": ok,
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


def run(
    target: t.Target, scenario: Scenario, seconds: float, connections: int | None = None
) -> dict[str, float]:
    """wrk at the scenario's concurrency; the figures plus ``cpu_us`` and ``peak_rss_mb``."""
    pids = target.all_pids()
    before = gains.cpu_seconds(pids)
    with RSSWatch(target) as watch:
        figures = wrk(
            target.url,
            target.key,
            scenario.path(target.kind),
            scenario.body(),
            connections or scenario.connections,
            seconds,
        )
    used = gains.cpu_seconds(pids) - before
    served = figures["requests"]
    return {
        **figures,
        "cpu_us": used / served * 1e6 if served else 0.0,
        "peak_rss_mb": watch.peak,
    }
