"""The directory Prometheus' multiprocess mode shares between workers.

``serve`` calls ``prepare`` before any worker starts (and before anything imports
``prometheus_client``, which picks its value store at import): the directory is emptied — the
files of a previous run would add its counts to this one's — and named in
``PROMETHEUS_MULTIPROC_DIR`` for the workers it spawns.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(directory: Path) -> Path:
    directory = directory.resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    os.environ[ENV] = str(directory)
    return directory


def active() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None
