"""Starting and stopping the things the harness measures, each on its own loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    process: subprocess.Popen[bytes] | None = None
    key: str = ""
    chat_path: str = "/v1/chat/completions"
    stream_path: str = "/v1/chat/completions"
    model: str = "bench-model"
    stream_model: str = "bench-stream"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The serving processes (workers when there is a supervisor)."""
        if self.process is None:
            return []
        children = _children(self.process.pid)
        return children or [self.process.pid]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(p) for p in text.split()]
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
    target = Target("upstream (nginx)", port, stream_path="/sse/v1/chat/completions")
    target.process = spawn(["nginx", "-c", str(conf), "-p", str(WORK)], "nginx.log")
    wait_up(target.url, target.process, 10)
    return target


def start_passthrough(upstream: Target) -> Target:
    target = Target("aiohttp passthrough", free_port())
    target.process = spawn(
        [sys.executable, str(HERE / "passthrough.py"), str(target.port), upstream.url],
        "passthrough.log",
    )
    wait_up(target.url, target.process, 20)
    return target


def start_slow() -> Target:
    target = Target("slow upstream", free_port())
    target.process = spawn(
        [sys.executable, str(HERE / "slow_upstream.py"), str(target.port), "20", "0.25"], "slow.log"
    )
    wait_up(target.url, target.process, 20)
    return target


PATCHBAY_CONFIG = """
[server]
log_level = "warning"

[[providers]]
name = "bench"
kind = "openai"
base_url = "{up}/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-sse"
kind = "openai"
base_url = "{up}/sse/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-anthropic"
kind = "anthropic"
base_url = "{up}"
api_key = "sk-bench"

[[providers]]
name = "bench-gemini"
kind = "gemini"
base_url = "{up}"
api_key = "sk-bench"

[[providers]]
name = "slow"
kind = "openai"
base_url = "{slow}/v1"
api_key = "sk-bench"

[[models]]
id = "bench-model"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "bench", model = "bench-upstream" }} ]

[[models]]
id = "bench-stream"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "bench-sse", model = "bench-upstream" }} ]

[[models]]
id = "bench-translated"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "bench-anthropic", model = "bench-upstream" }} ]

[[models]]
id = "bench-anthropic"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "bench-anthropic", model = "bench-upstream" }} ]

[[models]]
id = "bench-gemini"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "bench-gemini", model = "bench-upstream" }} ]

[[models]]
id = "bench-slow"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "slow", model = "slow" }} ]
"""


def start_patchbay(
    upstream: Target,
    slow: Target,
    workers: int,
    *,
    source: Path | None = None,
    name: str | None = None,
) -> Target:
    """Patchbay from this checkout, or (``source``) from another tree's ``src`` directory."""
    label = name or f"patchbay-{workers}"
    data = WORK / label
    if data.exists():
        for item in data.iterdir():
            item.unlink()
    data.mkdir(parents=True, exist_ok=True)
    config = data / "patchbay.toml"
    config.write_text(PATCHBAY_CONFIG.format(up=upstream.url, slow=slow.url))
    title = name or f"patchbay ({workers} worker{'s' if workers > 1 else ''})"
    target = Target(title, free_port())
    exe = [str(Path(sys.executable).with_name("patchbay"))]
    env = {"PATCHBAY_DATA_DIR": str(data), "PATCHBAY_ADMIN_KEY": ADMIN_KEY}
    if source is not None:
        exe = [sys.executable, "-c", "import sys; from patchbay.cli import main; main()"]
        env["PYTHONPATH"] = str(source / "src")
    target.process = spawn(
        [
            *exe,
            "serve",
            "--config",
            str(config),
            "--port",
            str(target.port),
            "--workers",
            str(workers),
        ],
        f"{label}.log",
        env,
    )
    if not wait_up(target.url + "/healthz", target.process, 60):
        target.stop()
        target.process = None
        return target
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    account = httpx.post(
        target.url + "/admin/accounts", headers=admin, json={"name": "bench", "points": 10**15}
    ).json()
    target.key = httpx.post(
        target.url + f"/admin/accounts/{account['id']}/keys",
        headers=admin,
        json={"name": "bench", "rpm": 10**9},
    ).json()["key"]
    return target


def start_litellm(upstream: Target) -> Target:
    target = Target("LiteLLM proxy", free_port(), key=LITELLM_KEY)
    binary = WORK / "litellm-venv" / "bin" / "litellm"
    if not binary.exists():
        return target
    config = WORK / "litellm.yaml"
    config.write_text(f"""
model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/bench-upstream
      api_base: "{upstream.url}/v1"
      api_key: sk-bench
  - model_name: bench-stream
    litellm_params:
      model: openai/bench-upstream
      api_base: "{upstream.url}/sse/v1"
      api_key: sk-bench
general_settings:
  master_key: {LITELLM_KEY}
litellm_settings:
  telemetry: false
""")
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "NO_DOCS": "True",
    }
    target.process = spawn(
        [
            str(binary),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(target.port),
            "--num_workers",
            "1",
        ],
        "litellm.log",
        env,
    )
    if not wait_up(target.url + "/health/liveliness", target.process, 180):
        target.stop()
        target.process = None
    return target
