"""Where the time goes: py-spy samples Patchbay's one worker during an extra wrk run of a
scenario (``py-spy record --format raw --nonblocking``: collapsed stacks, kept under
bench/.work/profile/), summarised as the share of samples by area — each sample counted for
the innermost frame that belongs to one of the areas below ("self time by area"; a sample with
no such frame is "other") — and the top functions by self time (each sample's innermost
frame)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import load
import targets as t
from scenarios import Scenario

PROFILES = t.WORK / "profile"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
# (area, how its frames' files are spelled by py-spy, relative to sys.path)
EXTERNAL = (
    ("uvicorn/httptools", ("uvicorn/", "httptools/")),
    ("aiohttp client", ("aiohttp/",)),
    ("asyncio/uvloop", ("asyncio/", "uvloop/")),
    ("json/orjson", ("json/", "orjson")),
)


def py_spy() -> str | None:
    binary = Path(sys.executable).with_name("py-spy")
    return str(binary) if binary.exists() else None


def area(file: str) -> str | None:
    """The area a frame's file belongs to, or None (the next frame out decides)."""
    marker = file.find("patchbay/")
    if marker >= 0:
        rest = file[marker + len("patchbay/") :]
        top = rest.split("/", 1)[0].removesuffix(".py")
        return f"patchbay.{top}" + (".*" if "/" in rest else "")
    for name, prefixes in EXTERNAL:
        if any(file.startswith(p) or f"/{p}" in file for p in prefixes):
            return name
    return None


def frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) of each frame of a collapsed stack, outermost first."""
    out = []
    for frame in stack.split(";"):
        match = FRAME.match(frame.strip())
        if match:
            out.append((match["function"], match["file"]))
    return out


def summarise(raw: str, top: int = 10) -> dict[str, Any]:
    areas: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        found = frames(stack)
        if not found:
            continue
        total += samples
        function, file = found[-1]
        functions[f"{function} ({file})"] += samples
        for _, frame_file in reversed(found):
            name = area(frame_file)
            if name is not None:
                areas[name] += samples
                break
        else:
            areas["other"] += samples
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "areas": [(name, share(n)) for name, n in areas.most_common()],
        "top": [(name, share(n)) for name, n in functions.most_common(top)],
    }


def record(target: t.Target, scenario: Scenario, seconds: float) -> dict[str, Any]:
    """Profile the target's (one) worker while wrk runs the scenario; the summary."""
    binary = py_spy()
    if binary is None:
        return {"error": "py-spy is not installed in the virtualenv"}
    PROFILES.mkdir(parents=True, exist_ok=True)
    out = PROFILES / f"{scenario.name}.txt"
    out.unlink(missing_ok=True)
    pid = target.pids()[0]
    figures: dict[str, float] = {}

    def drive() -> None:
        figures.update(load.run(target, scenario, seconds + 2))

    driver = threading.Thread(target=drive)
    driver.start()
    command = [binary, "record", "--format", "raw", "--rate", "500", "--pid", str(pid)]
    command += ["--duration", str(max(1, round(seconds))), "--nonblocking", "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    driver.join()
    if result.returncode != 0 or not out.exists():
        return {"error": f"py-spy failed: {(result.stderr or result.stdout).strip()[-300:]}"}
    summary = summarise(out.read_text())
    summary["file"] = str(out.relative_to(t.ROOT))
    summary["rps"] = figures.get("rps", 0.0)
    return summary
