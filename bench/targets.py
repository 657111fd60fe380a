"""Starting and stopping the things the harness measures, each on its own loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import configs
import httpx

HERE = Path(__file__).parent
WORK = HERE / ".work"
ROOT = HERE.parent
ADMIN_KEY = "pb-bench-admin-0123456789abcdefghijklmnopqrstuvwxyz"
LITELLM_KEY = "sk-litellm-bench-master"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Target:
    name: str
    port: int
    kind: str  # nginx | passthrough | patchbay | litellm (scenarios.KINDS)
    process: subprocess.Popen[bytes] | None = None
    key: str = ""
    # scenario -> why this target cannot serve it (its start-up check failed): not measured
    unavailable: dict[str, str] = field(default_factory=dict)
    why_not: str = ""  # why it did not start at all
    version: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The serving processes (workers when there is a supervisor)."""
        if self.process is None:
            return []
        children = _children(self.process.pid)
        return children or [self.process.pid]

    def all_pids(self) -> list[int]:
        """Every process of the target (supervisor, workers, helpers): whose CPU is counted."""
        if self.process is None:
            return []
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += _all_children(pid)
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _all_children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            kids += [int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return kids


def _children(pid: int) -> list[int]:
    kids = _all_children(pid)
    # uvicorn/multiprocessing may add a resource tracker: keep processes that listen (workers)
    return [k for k in kids if "resource_tracker" not in _cmdline(k)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def spawn(cmd: list[str], log: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / log, "wb") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def wait_up(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


def start_nginx() -> Target:
    from upstream.bodies import nginx_conf

    port = free_port()
    conf = WORK / "nginx.conf"
    WORK.mkdir(parents=True, exist_ok=True)
    conf.write_text(nginx_conf(port, str(WORK)))
    target = Target("upstream (nginx)", port, "nginx")
    target.process = spawn(["nginx", "-c", str(conf), "-p", str(WORK)], "nginx.log")
    if not wait_up(target.url, target.process, 10):
        raise SystemExit(f"nginx did not start; see {WORK / 'nginx-error.log'}")
    return target


def start_passthrough(upstream: Target) -> Target:
    target = Target("aiohttp passthrough", free_port(), "passthrough")
    target.process = spawn(
        [sys.executable, str(HERE / "passthrough.py"), str(target.port), upstream.url],
        "passthrough.log",
    )
    if not wait_up(target.url, target.process, 20):
        raise SystemExit(f"the passthrough did not start; see {WORK / 'passthrough.log'}")
    return target


def start_shell(upstream: Target) -> Target:
    """Patchbay's server and client with none of its work (bench/shell.py), Chat only."""
    target = Target("patchbay's shell", free_port(), "passthrough")
    target.process = spawn(
        [sys.executable, str(HERE / "shell.py"), str(target.port), upstream.url],
        "shell.log",
        {"PATCHBAY_DATA_DIR": str(WORK / "shell")},
    )
    if not wait_up(target.url, target.process, 20):
        target.stop()
        target.process = None
        target.why_not = f"did not start; see {WORK / 'shell.log'}"
    return target


def start_slow() -> Target:
    target = Target("slow upstream", free_port(), "slow")
    target.process = spawn(
        [sys.executable, str(HERE / "slow_upstream.py"), str(target.port), "20", "0.025"],
        "slow.log",
    )
    wait_up(target.url, target.process, 20)
    return target


def start_patchbay(
    upstream: Target,
    slow: Target,
    workers: int,
    *,
    source: Path | None = None,
    name: str | None = None,
    config: str = configs.PATCHBAY,
) -> Target:
    """Patchbay from this checkout, or (``source``) from another tree's ``src`` directory."""
    label = name or f"patchbay-{workers}"
    data = WORK / label
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    path = data / "patchbay.toml"
    path.write_text(config.format(up=upstream.url, slow=slow.url))
    title = name or f"patchbay ({workers} worker{'s' if workers > 1 else ''})"
    target = Target(title, free_port(), "patchbay")
    exe = [str(Path(sys.executable).with_name("patchbay"))]
    env = {"PATCHBAY_DATA_DIR": str(data), "PATCHBAY_ADMIN_KEY": ADMIN_KEY}
    if source is not None:
        exe = [sys.executable, "-c", "import sys; from patchbay.cli import main; main()"]
        env["PYTHONPATH"] = str(source / "src")
    command = [*exe, "serve", "--config", str(path), "--port", str(target.port)]
    target.process = spawn([*command, "--workers", str(workers)], f"{label}.log", env)
    if not wait_up(target.url + "/healthz", target.process, 60):
        target.stop()
        target.process = None
        target.why_not = f"did not start; see {WORK / (label + '.log')}"
        return target
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    try:
        account = httpx.post(
            target.url + "/admin/accounts",
            headers=admin,
            json={"name": "bench", "points": 10**15},
        ).json()
        target.key = httpx.post(
            target.url + f"/admin/accounts/{account['id']}/keys",
            headers=admin,
            json={"name": "bench", "rpm": 10**9},
        ).json()["key"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        target.stop()
        target.process = None
        target.why_not = f"its admin API did not give a key ({type(exc).__name__}: {exc})"
    return target


def start_litellm(upstream: Target) -> Target:
    target = Target("LiteLLM proxy", free_port(), "litellm", key=LITELLM_KEY)
    binary = WORK / "litellm-venv" / "bin" / "litellm"
    if not binary.exists():
        target.why_not = "not installed (bench/run.sh installs it into bench/.work/litellm-venv)"
        return target
    found = sorted(binary.parent.parent.glob("lib/python*/site-packages/litellm-*.dist-info"))
    target.version = (
        found[-1].name.removeprefix("litellm-").removesuffix(".dist-info") if found else ""
    )
    config = WORK / "litellm.yaml"
    config.write_text(configs.litellm(upstream.url, LITELLM_KEY))
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "NO_DOCS": "True",
    }
    command = [str(binary), "--config", str(config), "--host", "127.0.0.1"]
    command += ["--port", str(target.port), "--num_workers", "1"]
    target.process = spawn(command, "litellm.log", env)
    if not wait_up(target.url + "/health/liveliness", target.process, 180):
        target.stop()
        target.process = None
        target.why_not = f"did not start within 180 s; see {WORK / 'litellm.log'}"
    return target


def revision() -> str:
    """The checkout measured: its commit, and whether src/ has uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
    ).stdout.strip()
    return (head or "unknown") + (" with uncommitted changes in src/" if dirty else "")
