"""What each change to the request path gained: Patchbay at successive commits, side by side.

Each commit in ``CHANGES`` is exported (``git archive``) into ``bench/.work/revisions/<sha>``
and started with this checkout's virtualenv and ``PYTHONPATH`` set to that tree. All revisions
run in the same round against the same nginx upstream, interleaved, one worker each, with the
same configuration (``configs.GAINS``): non-streamed Chat at c=16 (req/s and the server's CPU
time per request, all its threads), streamed Chat, streamed Anthropic Messages and a translated
stream (Anthropic Messages on an openai upstream) at c=16, and Chat at c=1 for latency. Each
revision's answers are checked first (bench/shapes.py). A change's gain is its median against
the revision before it. Needs the repository's history (a clone, not an export); a commit it
cannot find, or that does not start or answer, is reported as not measured, and the others are
measured all the same.

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

import configs  # noqa: E402
import shapes  # noqa: E402
import targets as t  # noqa: E402
from scenarios import BY_NAME  # noqa: E402

# (commit, what it changed), oldest first — the first is the starting point of this work; add
# each change's commit after it. "HEAD" is the checkout's own last commit. Earlier sessions'
# changes are in the history of docs/benchmarks.md.
CHANGES = [
    ("b180b2a", "issue 16's starting point (issue 15 done)"),
    ("4945ec4", "a deadline on every request body (408 for a trickled body; issue 15)"),
    ("408a16f", "stream path: head with first bytes, last chunk with the end, one task, text held"),
    ("41a56ce", "a deadline on every request head (uvicorn protocol timer; issue 15)"),
    ("a06c7b5", "stored responses by one upsert, attempts metric, held text at most 1 KiB"),
    ("0c1bdeb", "request lines written every 0.02 s (was 0.1 s: a pause of the loop, the p99)"),
    ("178a99f", "translated streams: one body piece per upstream chunk, the last with the end"),
    ("8b955b6", "SSE reader: a one-data-line block read without the line-by-line loop"),
    ("eae3d38", "request body reads arm no timer when uvicorn already holds the body"),
    ("a4f5f05", "a stream learns of its client leaving from the server protocol: no watcher task"),
    ("02c9130", "upstream calls on our own kept-alive HTTP/1.1 connections (httptools)"),
    ("ce1b333", "relays read a named one-line event directly; ids without a system call"),
    ("5d79363", "same-protocol relays: the events between the usage ones read as runs of bytes"),
    ("fa1e2fa", "translated: upstream events read as bytes, text deltas from templates"),
    ("5c8fac5", "relays: the model renamed in one pass; Responses marks only its final event"),
    ("1f1569b", "translated: SSE data read in one loop, Responses events from templates"),
    ("b6e7a49", "relays: held text read out in one parse and counted past 4 KiB; one Rename"),
    ("da68d8f", "relays test bytes with find, not in (3.11's bytes in drops a formatted error)"),
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
    """The commit's tree under bench/.work/revisions (reused when already there); None when
    this clone does not have the commit."""
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
    )
    if archive.returncode != 0:
        return None
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


MEASURED = (
    "chat",
    "chat-stream",
    "anthropic-stream",
    "responses-stream",
    "anthropic-on-openai-stream",
)


def start(upstream: t.Target, slow: t.Target, commit: str) -> tuple[t.Target | None, str, str]:
    """(the revision's Patchbay or None, its full sha, why it is not measured)."""
    source = export(commit)
    if source is None:
        return None, "", "not in this clone's history"
    target = t.start_patchbay(
        upstream, slow, 1, source=source, name=f"rev-{commit}", config=configs.GAINS
    )
    if target.process is None:
        return None, source.name, target.why_not
    for name in MEASURED:
        reason, _ = shapes.check(target.url, target.key, "patchbay", BY_NAME[name])
        if reason is not None:
            target.stop()
            return None, source.name, f"{name}: {reason}"
    return target, source.name, ""


def expected_seconds(rounds: int, seconds: int) -> float:
    per_run = 5 * seconds + max(1, seconds // 2) + 2
    return len(CHANGES) * (15 + 3 + rounds * per_run)


def measure(upstream: t.Target, slow: t.Target, rounds: int, seconds: int) -> dict[str, Any]:
    import load

    revisions: list[tuple[str, str, t.Target]] = []
    shas: dict[str, str] = {}
    missing: list[str] = []
    chat, c1 = BY_NAME["chat"], BY_NAME["chat-c1"]
    stream, anthropic = BY_NAME["chat-stream"], BY_NAME["anthropic-stream"]
    translated = BY_NAME["anthropic-on-openai-stream"]
    responses = BY_NAME["responses-stream"]
    try:
        for commit, label in CHANGES:
            target, sha, why = start(upstream, slow, commit)
            if target is None:
                missing.append(f"`{commit}` ({label}): {why}")
                print(f"  gains: {commit} not measured: {why}", flush=True)
                continue
            revisions.append((commit, label, target))
            shas[commit] = sha
        runs: list[dict[str, Any]] = []
        for _, _, target in revisions:
            load.run(target, chat, 2)  # warm up: caches, pools, first compilations
        for round_no in range(rounds):
            order = revisions if round_no % 2 == 0 else revisions[::-1]
            for commit, _, target in order:
                figures = load.run(target, chat, seconds)
                streamed = load.run(target, stream, seconds)
                messages = load.run(target, anthropic, seconds)
                typed = load.run(target, responses, seconds)
                crossed = load.run(target, translated, seconds)
                latency = load.run(target, c1, max(1, seconds // 2))
                runs.append(
                    {
                        "round": round_no,
                        "commit": commit,
                        "rps": figures["rps"],
                        "cpu_us": figures["cpu_us"],
                        "stream_rps": streamed["rps"],
                        "anthropic_stream_rps": messages["rps"],
                        "responses_stream_rps": typed["rps"],
                        "translated_stream_rps": crossed["rps"],
                        "c1_p50_ms": latency["p50_ms"],
                        "errors": sum(
                            run["errors"] for run in (figures, streamed, messages, typed, crossed)
                        ),
                    }
                )
                print(
                    f"  gains {commit:8} chat {figures['rps']:6.0f} req/s "
                    f"{figures['cpu_us']:4.0f} µs/req  stream {streamed['rps']:6.0f}  "
                    f"anthropic stream {messages['rps']:6.0f}  responses stream "
                    f"{typed['rps']:6.0f}  translated stream "
                    f"{crossed['rps']:6.0f}  c1 p50 {latency['p50_ms']:.3f} ms",
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
