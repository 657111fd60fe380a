"""The gateway's own work per call in instructions, counted by callgrind: bench/inprocess.py
(the served app driven directly, the upstream answering from memory) under
``valgrind --tool=callgrind``, which dumps its counts at each ``getppid`` call — inprocess.py
makes one just before and one just after each scenario's measured calls (``--mark``), so each
scenario's dump holds its calls alone, every thread of the process counted.

Instructions are not seconds, but they do not move with the machine: the same tree gives the
same count to within about 1% (0.1–0.8% seen run to run) on an otherwise idle machine (its
timers — the settlement flush every 0.1 s — make a loaded run count a few per cent more),
where timings on a shared VM spread by tens of per cent between runs and twice that between
sessions. A change to the request path is seen here at its true size, however small.

    python bench/instructions.py [--calls 1000] [--src DIR] [--against COMMIT]
                                                       (run.py calls it as part of make bench)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# the tree each report compares with: the last report's (its commit is in docs/benchmarks.md)
AGAINST = ("9bdca9b", "the last report's tree")
CALLS = 1000
TOTAL = re.compile(rb"^(?:summary|totals): (\d+)", re.M)


def available() -> str:
    """Why callgrind cannot run here, or ``""``."""
    return "" if shutil.which("valgrind") else "valgrind is not installed"


def count(src: Path | None, calls: int = CALLS) -> dict[str, Any]:
    """Instructions per call of each inprocess.py scenario, for the tree at ``src`` (this
    checkout's when ``None``): ``{"scenarios": {name: per call}, "seconds": …}`` or
    ``{"error": why}``."""
    why = available()
    if why:
        return {"error": why}
    out = Path(tempfile.mkdtemp(prefix="patchbay-callgrind-"))
    command = [
        "valgrind", "--tool=callgrind", "--dump-before=getppid", "--dump-instr=no",
        f"--callgrind-out-file={out / 'cg.out'}",
        sys.executable, str(HERE / "inprocess.py"), "--calls", str(calls), "--mark",
    ]  # fmt: skip
    if src is not None:
        command += ["--src", str(src)]
    began = time.monotonic()
    try:
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts, run after run
        done = subprocess.run(command, capture_output=True, timeout=1800, env=env)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            return {"error": f"inprocess.py under callgrind: exit {done.returncode}: {tail}"}
        names = list(json.loads(done.stdout.decode().strip().splitlines()[-1]))
        dumps = sorted(out.glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) < 2 * len(names):
            return {"error": f"{len(dumps)} callgrind dumps for {len(names)} scenarios"}
        scenarios: dict[str, float] = {}
        for k, name in enumerate(names):
            total = TOTAL.search(dumps[2 * k + 1].read_bytes())
            if total is None:
                return {"error": f"no total in {dumps[2 * k + 1].name}"}
            scenarios[name] = int(total.group(1)) / calls
        return {"scenarios": scenarios, "calls": calls, "seconds": time.monotonic() - began}
    except subprocess.TimeoutExpired:
        return {"error": "inprocess.py under callgrind took over 30 minutes"}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def expected_seconds() -> float:
    return 2 * 200.0  # this tree and the one compared with, each about three minutes


def measure(against: str = AGAINST[0]) -> dict[str, Any]:
    """This checkout's counts and those of the ``against`` commit's tree."""
    import gains

    results: dict[str, Any] = {"head": count(None)}
    print(f"  this tree: {results['head'].get('error') or 'counted'}", flush=True)
    source = gains.export(against)
    if source is None:
        results["against"] = {"error": f"{against} is not in this clone's history"}
    else:
        results["against"] = count(source)
    results["against"]["commit"] = against
    results["against"]["what"] = AGAINST[1] if against == AGAINST[0] else ""
    print(f"  {against}: {results['against'].get('error') or 'counted'}", flush=True)
    return results


def table(results: dict[str, Any] | None) -> list[str]:
    """The report's section: instructions per call, this tree against the one compared with."""
    if not results:
        return []
    head, against = results.get("head", {}), results.get("against", {})
    lines = [
        "### Instructions per call",
        "",
        "Patchbay's own work per call counted by callgrind (bench/instructions.py): the app "
        "driven in-process as bench/inprocess.py drives it (no sockets, the upstream answering "
        "from memory, every feature on), every thread counted. Repeatable to within about 1% "
        "on an otherwise idle machine (its timers make a loaded run count a little more), so a "
        "change shows at its true size here when the timings above cannot resolve it.",
        "",
    ]
    if "error" in head:
        return [*lines, f"Not counted: {head['error']}.", ""]
    commit = against.get("commit", "")
    what = f" ({against['what']})" if against.get("what") else ""
    theirs = against.get("scenarios", {})
    lines += [
        f"| scenario | `{commit}`{what} | this tree | change |",
        "|---|---:|---:|---:|",
    ]
    for name, mine in head["scenarios"].items():
        if name in theirs:
            base = theirs[name]
            change = f"{(mine - base) / base * 100:+.1f}%"
            lines.append(f"| `{name}` | {base:,.0f} | {mine:,.0f} | {change} |")
        else:
            lines.append(f"| `{name}` | — | {mine:,.0f} | — |")
    if "error" in against:
        lines += ["", f"`{commit}` not counted: {against['error']}."]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--src", type=Path, help="another tree (as gains.py exports them)")
    parser.add_argument("--against", help="also count this commit's tree, side by side")
    args = parser.parse_args()
    if args.against:
        results = measure(args.against)
        print("\n".join(table(results)))
        return
    print(json.dumps(count(args.src, args.calls), indent=1))


if __name__ == "__main__":
    main()
