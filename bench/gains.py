"""What each change to the request path gained: Patchbay at successive commits, side by side.

Each commit in ``CHANGES`` is exported (``git archive``) into ``bench/.work/revisions/<sha>``
and started with this checkout's virtualenv and ``PYTHONPATH`` set to that tree. All revisions
run in the same round against the same nginx upstream, interleaved, one worker each: c=16 for
throughput (with the server's CPU time per request, all its threads), c=1 for latency. A change's
gain is its median against the revision before it. Needs the repository's history (a clone, not
an export); commits it cannot find are reported as missing.

    python bench/gains.py [--rounds 3] [--seconds 4]      (run.py calls it as part of make bench)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import targets as t  # noqa: E402

# (commit, what it changed) — the first is the starting point of this work; "HEAD" is the
# checkout's own last commit. Earlier sessions' changes are in the history of docs/benchmarks.md.
CHANGES = [
    ("18e4b6a", "previous head: session 9's request path (two cores, Chat-only fast path)"),
    ("HEAD", "one pipeline; every protocol's same-protocol calls forwarded untouched"),
]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / TICK


def export(commit: str) -> Path | None:
    """The commit's tree under bench/.work/revisions (reused when already there)."""
    root = HERE.parent
    full = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if full.returncode != 0:
        return None
    target = t.WORK / "revisions" / full.stdout.strip()
    if (target / "src" / "patchbay").is_dir():
        return target
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", full.stdout.strip(), "src"],
        capture_output=True,
        check=True,
    )
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def measure(upstream: t.Target, slow: t.Target, rounds: int, seconds: int) -> dict[str, Any]:
    from run import PROTOCOLS, wrk

    revisions: list[tuple[str, str, t.Target]] = []
    shas: dict[str, str] = {}
    missing: list[str] = []
    try:
        for commit, label in CHANGES:
            source = export(commit)
            if source is None:
                missing.append(commit)
                continue
            target = t.start_patchbay(upstream, slow, 1, source=source, name=f"rev-{commit}")
            if target.process is None:
                missing.append(commit)
                continue
            revisions.append((commit, label, target))
            shas[commit] = source.name
        runs: list[dict[str, Any]] = []
        for _, _, target in revisions:
            wrk(target, 16, 2)  # warm up: caches, pools, first compilations
        for round_no in range(rounds):
            order = revisions if round_no % 2 == 0 else revisions[::-1]
            for commit, _, target in order:
                pids = target.pids()
                before = cpu_seconds(pids)
                figures = wrk(target, 16, seconds)
                used = cpu_seconds(pids) - before
                served = figures["rps"] * seconds
                latency = wrk(target, 1, max(1, seconds // 2))
                messages = wrk(target, 16, seconds, request=PROTOCOLS["anthropic-c16"])
                runs.append(
                    {
                        "round": round_no,
                        "commit": commit,
                        "rps": figures["rps"],
                        "cpu_us": used / served * 1e6 if served else 0.0,
                        "c1_p50_ms": latency["p50_ms"],
                        "anthropic_rps": messages["rps"],
                    }
                )
                print(
                    f"  gains {commit} {figures['rps']:8.0f} req/s "
                    f"{runs[-1]['cpu_us']:6.0f} µs CPU/req  c1 p50 {latency['p50_ms']:.3f} ms "
                    f"anthropic {messages['rps']:8.0f} req/s",
                    flush=True,
                )
        return {
            "changes": [{"commit": c, "label": label, "sha": shas[c]} for c, label, _ in revisions],
            "missing": missing,
            "runs": runs,
            "rounds": rounds,
            "seconds": seconds,
        }
    finally:
        for _, _, target in revisions:
            target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    upstream, slow = t.start_nginx(), t.start_slow()
    began = time.time()
    try:
        results = measure(upstream, slow, args.rounds, args.seconds)
    finally:
        slow.stop()
        upstream.stop()
    import report

    for line in report.gains_table(results):
        print(line)
    print(f"done in {time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
