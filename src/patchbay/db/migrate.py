"""Run the Alembic migrations shipped inside the package (``patchbay migrate`` and ``serve``).

Several instances may start at once on one database: ``startup_lock`` makes their start-up
work (the migrations, then the seeding) one at a time — a PostgreSQL session-level advisory
lock held on its own connection, or an exclusive file lock beside a SQLite database. The
first instance migrates; the others wait, then find the schema at head and do nothing.
"""

from __future__ import annotations

import asyncio
import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 0x7061_7463_6862_6179 & 0x7FFF_FFFF_FFFF_FFFF  # "patchbay", a signed bigint
LOCK_WAIT_S = 300.0  # an instance waits this long for another's start-up, then gives up
_POLL_S = 0.2
_held = threading.local()  # re-entrant within one thread: upgrade() inside startup_lock()


class LockTimeout(RuntimeError):
    """Another instance held the start-up lock for longer than ``LOCK_WAIT_S``."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _postgres_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class _AdvisoryLock:
    """A PostgreSQL advisory lock held by a connection of its own, on a thread of its own (the
    migrations run their own event loop meanwhile)."""

    def __init__(self, database_url: str, wait_s: float) -> None:
        self.dsn = _postgres_dsn(database_url)
        self.wait_s = wait_s
        self.acquired = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="migration-lock", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()
        self.acquired.wait()
        if self.error is not None:
            self._thread.join()
            raise self.error

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._hold())
        except BaseException as exc:  # told to the waiting thread
            self.error = exc
            self.acquired.set()

    async def _hold(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        connection = await asyncpg.connect(self.dsn)
        try:
            deadline = time.monotonic() + self.wait_s
            while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                if time.monotonic() > deadline:
                    raise LockTimeout(
                        f"another instance held the start-up lock for {self.wait_s:g} s"
                    )
                await asyncio.sleep(_POLL_S)
            self.acquired.set()
            await self._release.wait()
            await connection.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        finally:
            await connection.close()  # a lock still held goes with its connection


@contextmanager
def _file_lock(path: Path, wait_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"another instance held {path} for {wait_s:g} s") from None
                time.sleep(_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def startup_lock(database_url: str, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One instance at a time past this point, on this database. Blocking: call it outside
    the event loop."""
    if getattr(_held, "url", None) == database_url:
        yield  # this thread holds it already
        return
    url = make_url(database_url)
    lock: AbstractContextManager[None] | None = None
    if url.get_backend_name() == "postgresql":
        lock = _AdvisoryLock(database_url, wait_s)
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        lock = _file_lock(Path(str(url.database)).with_suffix(".migrate.lock"), wait_s)
    if lock is None:
        yield
        return
    with lock:
        _held.url = database_url
        try:
            yield
        finally:
            _held.url = None


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``, one instance at a time. Blocking: call it outside
    the event loop."""
    with startup_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    with startup_lock(database_url):
        command.downgrade(alembic_config(database_url), revision)


def current_heads() -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
