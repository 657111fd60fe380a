"""Start the real gateway as a subprocess on loopback, the way an operator would."""

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

ADMIN_KEY = "pb-test-admin-key-0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayProcess:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    admin_key: str = ADMIN_KEY
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"authorization": f"Bearer {self.admin_key}"}
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_gateway(
    data_dir: Path,
    *,
    config: str | None = None,
    env: dict[str, str] | None = None,
    admin_key: str | None = ADMIN_KEY,
    workers: int = 1,
    port: int | None = None,
    wait: bool = True,
) -> GatewayProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "patchbay",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if config is not None:
        config_path = data_dir / "patchbay.toml"
        config_path.write_text(config)
        args += ["--config", str(config_path)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHBAY_")}
    full_env.update({"PATCHBAY_DATA_DIR": str(data_dir), "PATCHBAY_LOG_LEVEL": "info"})
    if admin_key:
        full_env["PATCHBAY_ADMIN_KEY"] = admin_key
    full_env.update(env or {})
    log_path = data_dir / f"server-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=full_env)
    gateway = GatewayProcess(data_dir, port, process, log_path, admin_key or "", full_env)
    if wait:
        wait_ready(gateway)
    return gateway


def wait_ready(gateway: GatewayProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise RuntimeError(
                f"gateway exited with {gateway.process.returncode}:\n{gateway.log()}"
            )
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    gateway.stop()
    raise RuntimeError(f"gateway did not become healthy:\n{gateway.log()}")
