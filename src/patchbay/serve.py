"""``patchbay serve``: bootstrap once, then run uvicorn (uvloop + httptools) with N workers."""

from __future__ import annotations

import logging.config
import os
import signal
from pathlib import Path

import uvicorn
from rich.console import Console

from patchbay.errors import GatewayError
from patchbay.observability import logs, multiproc
from patchbay.runtime.bootstrap import ADMIN_KEY_FILE, bootstrap
from patchbay.settings import Settings

ENV_OVERRIDES = ("host", "port", "workers")
METRICS_DIR = "metrics"  # in the data dir: one sub-directory per port, emptied at each start


def _export(settings: Settings, config: Path | None) -> None:
    """Workers rebuild settings from the environment: pass the config path and CLI flags."""
    if config is not None:
        os.environ["PATCHBAY_CONFIG"] = str(config.resolve())
    for name in ENV_OVERRIDES:
        os.environ[f"PATCHBAY_{name.upper()}"] = str(getattr(settings, name))
    os.environ["PATCHBAY_DATA_DIR"] = str(settings.data_dir.resolve())


def _stopped(signum: int, frame: object) -> None:
    return None


def run(settings: Settings, config: Path | None, console: Console, err: Console) -> int:
    log_config = logs.dict_config(settings.log_level, settings.log_format)
    logging.config.dictConfig(log_config)
    # before any worker (or this process, with one worker) imports prometheus_client
    multiproc.prepare(settings.data_dir / METRICS_DIR / str(settings.port))
    try:
        result = bootstrap(settings)
    except GatewayError as exc:
        err.print(
            f"[red]error in configuration:[/] {exc.message}"
            + (f" ({exc.param})" if exc.param else "")
        )
        return 2
    if result.admin_key_created:
        console.print(
            "[bold green]Created the admin account.[/] Its API key (shown once, also "
            f"written to {settings.data_dir / ADMIN_KEY_FILE}):"
        )
        console.print(result.admin_key_created, soft_wrap=True, highlight=False)
    _export(settings, config)
    console.print(
        f"Patchbay listening on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''})"
    )
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; a handler
    # that ignores it lets the process end with status 0 after in-flight requests finished.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    uvicorn.run(
        "patchbay.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        loop="uvloop",
        http="patchbay.asgi.deadlines:ServerProtocol",  # httptools: coalesced writes, head deadline
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
        log_config=log_config,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
        server_header=False,
        proxy_headers=False,
    )
    return 0
