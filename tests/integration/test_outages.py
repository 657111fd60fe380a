"""Outages: a PostgreSQL restarted under load, and instances starting at once on one database.

The machine's shared PostgreSQL is never touched: each test starts a private one (``initdb``
and ``pg_ctl`` into a temporary directory, a free port, trust authentication) and restarts
that one. Under load, calls that need the database while it is gone fail with a clean 503 in
the client's envelope within a bounded time; none hangs; the gateway recovers without a
restart; and every answered call is charged exactly once (the settlement queue holds and
retries), checked against the ledger afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.servers import GatewayProcess, free_port, start_gateway
from tests.support import ledger_consistency, query

PRICED = """
[[models]]
id = "echo-priced"
pricing = { prompt = "0.00001", completion = "0.00002" }
routes = [ { provider = "echo", model = "echo" } ]
"""


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL server of this test's own."""

    root: Path
    port: int
    as_user: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [*self.as_user, str(_pg_bin("pg_ctl")), "-D", str(self.data), *args]
        return subprocess.run(command, capture_output=True, timeout=60, check=check)

    def start(self) -> None:
        self.ctl("-l", str(self.root / "postgres.log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "-w", "-t", "30", "stop", check=False)

    def create_database(self, name: str) -> str:
        psql = _pg_bin("psql") or "psql"
        subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
             f'CREATE DATABASE "{name}"'],
            capture_output=True, timeout=30, check=True,
        )  # fmt: skip
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    initdb = _pg_bin("initdb")
    if initdb is None or _pg_bin("pg_ctl") is None:
        message = "PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="patchbay-pg-"))  # pytest's tmp is root's alone
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
    server = PrivatePostgres(root, free_port(), as_user)
    subprocess.run(
        [*as_user, initdb, "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    with open(server.data / "postgresql.conf", "a") as conf:
        conf.write(
            f"port = {server.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{root}'\nfsync = off\nmax_connections = 60\n"
        )
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float
    body: dict[str, object] | None
    points: int = 0


def _call(client: httpx.Client, kind: str, key: str) -> Outcome:
    started = time.monotonic()
    try:
        if kind == "chat":
            response = client.post(
                "/v1/chat/completions",
                headers={"authorization": f"Bearer {key}"},
                json={"model": "echo-priced", "messages": [{"role": "user", "content": "hi"}]},
            )
        elif kind == "messages":
            response = client.post(
                "/v1/messages",
                headers={"x-api-key": key},
                json={
                    "model": "echo-priced",
                    "max_tokens": 8,
                    "messages": [{"role": "user", "content": "hello there"}],
                },
            )
        else:  # a read that needs the database
            response = client.get(
                "/usage/points_history", headers={"authorization": f"Bearer {key}"}
            )
    except httpx.HTTPError as exc:
        return Outcome(kind, -1, time.monotonic() - started, {"error": repr(exc)})
    elapsed = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = None
    points = 0
    if response.status_code == 200 and kind == "chat":
        points = int(body["usage"]["cost_points"])  # type: ignore[index]
    return Outcome(kind, response.status_code, elapsed, body, points)


def _load(gateway: GatewayProcess, keys: list[str], stop: threading.Event) -> list[Outcome]:
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        kinds = ("chat", "chat", "messages", "history")
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            n = 0
            while not stop.is_set():
                outcome = _call(client, kinds[(index + n) % len(kinds)], keys[index % len(keys)])
                with lock:
                    outcomes.append(outcome)
                n += 1
                time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(60)
    return outcomes


def _fresh_keys(gateway: GatewayProcess, account_id: int, count: int) -> list[str]:
    with gateway.admin() as admin:
        return [
            admin.post(
                f"/admin/accounts/{account_id}/keys", json={"name": f"k{i}", "rpm": 100000}
            ).json()["key"]
            for i in range(count)
        ]


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_restarted_under_load(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    url = private_postgres.create_database("patchbay")
    gateway = start_gateway(tmp_path / "gw", config=PRICED, env={"PATCHBAY_DATABASE_URL": url})
    try:
        with gateway.admin() as admin:
            account = admin.post("/admin/accounts", json={"name": "load", "points": 10**9}).json()
        keys = _fresh_keys(gateway, account["id"], 3)
        with gateway.admin() as admin:  # an account of its own for the stored Responses call
            other = admin.post("/admin/accounts", json={"name": "store", "points": 10**6}).json()
        store_key = _fresh_keys(gateway, other["id"], 1)[0]
        stop = threading.Event()
        result: list[Outcome] = []
        loader = threading.Thread(target=lambda: result.extend(_load(gateway, keys, stop)))
        loader.start()
        time.sleep(2)  # past the caches' refresh after the keys were made
        warm = httpx.post(  # the key is known (cached) before the outage: one charge
            f"{gateway.url}/v1/responses",
            headers={"authorization": f"Bearer {store_key}"},
            json={"model": "echo-priced", "input": "hi", "store": False},
        )
        assert warm.status_code == 200, warm.text
        down_at = time.monotonic()
        private_postgres.stop("fast")  # the database goes away under load
        time.sleep(1.0)
        # a key never used before must be looked up in the database: a clean 503, at once
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            cold = _call(client, "chat", "pb-never-seen-" + "x" * 40)
            cold_messages = _call(client, "messages", "pb-never-seen-" + "y" * 40)
            cold_gemini = client.post(
                "/v1beta/models/echo-priced:generateContent",
                headers={"x-goog-api-key": "pb-never-seen-" + "z" * 40},
                json={"contents": [{"parts": [{"text": "hi"}]}]},
            )
            unstored = client.post(
                "/v1/responses",
                headers={"authorization": f"Bearer {keys[0]}"},
                json={"model": "echo-priced", "input": "hi", "store": False},
            )
            stored = client.post(
                "/v1/responses",
                headers={"authorization": f"Bearer {store_key}"},
                json={"model": "echo-priced", "input": "hi"},
            )
        time.sleep(2.0)
        private_postgres.start()
        up_at = time.monotonic()
        time.sleep(3)
        stop.set()
        loader.join(120)
        assert not loader.is_alive(), "the load did not end: a request hung"

        # every call ended, within a bound, with an answer or a clean 503 in its envelope
        assert result, "no traffic"
        slowest = max(o.seconds for o in result)
        assert slowest < 10, f"a call took {slowest:.1f} s"
        assert cold.status == 503 and cold.seconds < 10, cold
        assert cold_messages.status == 503, cold_messages
        assert cold_messages.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
        assert cold_gemini.status_code == 503, cold_gemini.text
        assert cold_gemini.json()["error"]["status"] == "UNAVAILABLE"
        assert unstored.status_code == 200, unstored.text  # needs no database
        # its save fails before its last byte: the answer is sent unsaved, charged once
        assert stored.status_code == 200, stored.text
        statuses = {o.status for o in result}
        assert statuses <= {200, 503}, sorted(statuses)
        unavailable = [o for o in result if o.status == 503]
        assert unavailable, "no call needed the database during the outage"
        for outcome in unavailable:
            body = outcome.body or {}
            if outcome.kind == "messages":
                assert body["type"] == "error", body
                assert body["error"]["type"] == "overloaded_error", body  # type: ignore[index]
            else:
                assert body["error"]["code"] == "unavailable", body  # type: ignore[index]
        answered = [o for o in result if o.status == 200]
        assert len(answered) > len(unavailable)

        # recovered without a restart: every kind of call answers again
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            after = [_call(client, kind, keys[0]) for kind in ("chat", "messages", "history")]
            assert [o.status for o in after] == [200, 200, 200], after
            fresh = _fresh_keys(gateway, account["id"], 1)[0]
            assert _call(client, "chat", fresh).status == 200
            ready = client.get("/readyz").json()
        assert ready["checks"]["database"] == "ok"
        charged_calls = [o for o in result + after if o.status == 200 and o.kind != "history"]
        gateway.stop()  # SIGTERM: the queue is written before the process ends
        assert gateway.process.returncode == 0, gateway.log()[-3000:]

        # nothing lost, nothing doubled: one usage entry per answered call, balance = ledger
        entries = query(
            url, "SELECT COUNT(*) FROM usage_entries WHERE account_id = :a", a=account["id"]
        )[0][0]
        # every answered call of the load, the fresh key's call and the unstored Responses call
        assert entries == len(charged_calls) + 2, (entries, len(charged_calls))
        stored_charges = (
            query(url, "SELECT COUNT(*) FROM usage_entries WHERE account_id = :a", a=other["id"])[
                0
            ][0]
            - 1
        )
        # settled as answered, then its save failed: the client has the answer it paid for
        assert stored_charges == 1
        ledger_consistency(url)
        spent = query(
            url,
            "SELECT COALESCE(SUM(cost_points), 0) FROM usage_entries WHERE account_id = :a",
            a=account["id"],
        )[0][0]
        balance = query(url, "SELECT point_balance FROM accounts WHERE name = 'load'")[0][0]
        assert balance == 10**9 - spent
        chat_points = sum(o.points for o in charged_calls)
        assert chat_points > 0 and spent >= chat_points
        by_kind = Counter((o.kind, o.status) for o in result)
        print(
            f"\noutage {up_at - down_at:.1f} s: {len(result)} calls, {len(answered)} answered, "
            f"{len(unavailable)} x 503 (slowest {slowest:.2f} s), by kind {dict(by_kind)}, "
            f"cold key {cold.status} in {cold.seconds:.3f} s, {entries} usage entries, "
            f"{spent} points charged; a stored Responses call answered {stored.status_code}, "
            f"charged {stored_charges} time(s)"
        )
    finally:
        gateway.stop()


def _migrate(url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATCHBAY_")}
    env.update({"PATCHBAY_DATABASE_URL": url, "PATCHBAY_DATA_DIR": str(data_dir)})
    return subprocess.Popen(
        [sys.executable, "-m", "patchbay", "migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_instances_starting_at_once_migrate_once(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    url = private_postgres.create_database("racing")
    runs = [_migrate(url, tmp_path / f"m{i}") for i in range(4)]
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output.decode(errors="replace")[-3000:]
    assert len(query(url, "SELECT version_num FROM alembic_version")) == 1

    url = private_postgres.create_database("serving")
    gateways = [
        start_gateway(tmp_path / f"g{i}", config=PRICED, env={"PATCHBAY_DATABASE_URL": url},
                      wait=False)
        for i in range(3)
    ]  # fmt: skip
    try:
        from tests.servers import wait_ready

        for gateway in gateways:
            wait_ready(gateway, timeout=90)
        assert query(url, "SELECT COUNT(*) FROM accounts WHERE name = 'admin'")[0][0] == 1
        assert query(url, "SELECT COUNT(*) FROM models WHERE id = 'echo-priced'")[0][0] == 1
        for gateway in gateways:
            with gateway.admin() as admin:
                assert admin.get("/admin/accounts").status_code == 200
    finally:
        for gateway in gateways:
            gateway.stop()


def test_sqlite_instances_starting_at_once_migrate_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    url = f"sqlite+aiosqlite:///{data_dir / 'patchbay.db'}"
    data_dir.mkdir()
    runs = [_migrate(url, data_dir) for _ in range(4)]
    for run in runs:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output.decode(errors="replace")[-3000:]
    assert len(query(url, "SELECT version_num FROM alembic_version")) == 1
