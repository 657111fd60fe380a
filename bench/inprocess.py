"""The gateway's own CPU per call, measured in-process: the served ASGI app driven directly
(no HTTP server, no sockets) with the upstream transport answering fixed bodies from memory.
What remains is Patchbay's own work per call — key lookup, limiter, admission, routing, the
JSON rewrite, metering and settlement — which wrk runs cannot separate from uvicorn, aiohttp
and nginx on a shared two-core machine.

    python bench/inprocess.py [--calls 20000] [--concurrency 16] [--src DIR]

The streamed calls (``*-stream``) get the upstream's whole SSE body in one read, as from nginx on
loopback, and run through the same relays, encoders and stream response as when served.

``--src`` runs another tree's ``src`` (as gains.py exports them); the output is one JSON line.
``--mark`` makes a system call (``getppid``) just before and just after each scenario's measured
calls: bench/instructions.py has callgrind dump its counts there, which gives each scenario's
instructions per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
KEY = "pb-inprocess-admin-0123456789abcdefghijklmnopqrstuvwxyz"
sys.path.insert(0, str(HERE))

from upstream import bodies  # noqa: E402

CONFIG = """
[server]
log_level = "warning"

[[providers]]
name = "bench"
kind = "openai"
base_url = "http://bench.invalid/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-anthropic"
kind = "anthropic"
base_url = "http://bench.invalid"
api_key = "sk-bench"

[[providers]]
name = "bench-responses"
kind = "openai-responses"
base_url = "http://bench.invalid/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-gemini"
kind = "gemini"
base_url = "http://bench.invalid"
api_key = "sk-bench"

[[models]]
id = "bench-model"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench", model = "bench-upstream" } ]

[[models]]
id = "bench-anthropic"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench-anthropic", model = "bench-upstream" } ]

[[models]]
id = "bench-gemini"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench-gemini", model = "bench-upstream" } ]

[[models]]
id = "bench-responses"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench-responses", model = "bench-upstream" } ]

[[models]]
id = "bench-a2o"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench", model = "bench-upstream" } ]

[[models]]
id = "bench-translated"
pricing = { prompt = "0.000001", completion = "0.000002" }
routes = [ { provider = "bench-anthropic", model = "bench-upstream" } ]
"""
PROMPT = "Say hello to the bench."
CALLS: dict[str, tuple[str, dict[str, Any], dict[bytes, bytes]]] = {
    "chat": (
        "/v1/chat/completions",
        {"model": "bench-model", "messages": [{"role": "user", "content": PROMPT}]},
        {},
    ),
    "anthropic": (
        "/v1/messages",
        {
            "model": "bench-anthropic",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": PROMPT}],
        },
        {b"anthropic-version": b"2023-06-01"},
    ),
    "gemini": (
        "/v1beta/models/bench-gemini:generateContent",
        {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]},
        {},
    ),
    "translated": (
        "/v1/chat/completions",
        {"model": "bench-translated", "messages": [{"role": "user", "content": PROMPT}]},
        {},
    ),
}
Call = tuple[str, dict[str, Any], dict[bytes, bytes]]


def streamed(call: Call, **fields: Any) -> Call:
    """The same call asking for a stream (``fields`` changed too)."""
    path, payload, headers = call
    return path, {**payload, "stream": True, **fields}, headers


def responses(model: str) -> Call:
    return "/v1/responses", {"model": model, "stream": True, "store": False, "input": PROMPT}, {}


# streamed: the upstream's SSE body arrives in one piece, as it does from nginx on loopback
STREAMED: dict[str, Call] = {
    "chat-stream": streamed(CALLS["chat"]),
    "anthropic-stream": streamed(CALLS["anthropic"]),
    "responses-stream": responses("bench-responses"),
    "anthropic-on-openai-stream": streamed(CALLS["anthropic"], model="bench-a2o"),
    "responses-on-anthropic-stream": responses("bench-translated"),
}
STREAMS = {
    "/chat/completions": bodies.CHAT_SSE.encode(),
    "/responses": bodies.RESPONSES_SSE.encode(),
    "/v1/messages": bodies.ANTHROPIC_SSE.encode(),
}
ANSWERS = {
    "/v1/chat/completions": bodies.CHAT.encode(),
    "/v1/messages": bodies.ANTHROPIC.encode(),
    ":generateContent": bodies.GEMINI.encode(),
}


def patch_transport() -> None:
    """Every upstream POST answers its fixed body from memory."""
    from patchbay.upstream import client

    class Whole:
        def __init__(self, body: bytes) -> None:
            self.status, self.body, self.content_type = 200, body, "application/json"

    async def post(self: Any, provider: str, url: str, body: bytes, *args: Any, **kw: Any) -> Any:
        for suffix, answer in ANSWERS.items():
            if url.endswith(suffix):
                return Whole(answer)
        raise AssertionError(url)

    class Chunks:
        """The whole SSE body in one read, then the end: at its end after that read."""

        def __init__(self, body: bytes) -> None:
            self.body: bytes | None = body

        def __aiter__(self) -> Chunks:
            return self

        async def __anext__(self) -> bytes:
            body, self.body = self.body, None
            if body is None:
                raise StopAsyncIteration
            return body

        def at_eof(self) -> bool:
            return self.body is None

        async def aclose(self) -> None:
            self.body = None

    async def open_stream(
        self: Any, provider: str, url: str, body: bytes, *args: Any, **kw: Any
    ) -> Any:
        from patchbay.upstream.answers import UpstreamStream

        for suffix, answer in STREAMS.items():
            if url.endswith(suffix):
                chunks = Chunks(answer)
                return UpstreamStream(200, "text/event-stream", b"", chunks, at_eof=chunks.at_eof)
        raise AssertionError(url)

    client.UpstreamClient.post = post  # type: ignore[method-assign]
    client.UpstreamClient.open_stream = open_stream  # type: ignore[method-assign]


RECEIVE: Any = None  # body -> receive (``_receiver``)


class Received:
    """The request's body, already arrived, as uvicorn's cycle holds it (its ``message_event``
    set: the gateway reads it without arming a timer, as it does when served)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = False
        self.message_event = asyncio.Event()
        self.message_event.set()

    async def receive(self) -> dict[str, Any]:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}


def _receiver() -> Any:
    """What makes a request's ``receive``: as served, the bound method of our server's cycle
    (a stream learns of a disconnect from it, with no watcher task); trees without that
    cycle get ``Received`` alone."""
    try:
        from patchbay.asgi.coalescing import CoalescingCycle
    except ImportError:
        return lambda body: Received(body).receive

    class Cycle(CoalescingCycle):
        def __init__(self, body: bytes) -> None:  # noqa: D107 (uvicorn's state is not needed)
            self.received = Received(body)
            self.message_event = self.received.message_event  # the body has arrived
            self.disconnected = False

        async def receive(self) -> Any:
            return await self.received.receive()

    return lambda body: Cycle(body).receive


async def call(app: Any, path: str, body: bytes, headers: dict[bytes, bytes]) -> int:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", b"Bearer " + KEY.encode()),
            *headers.items(),
        ],
    }
    status = 0
    receive = RECEIVE(body)

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif status != 200 and message.get("body"):
            print(message["body"][:300], file=sys.stderr)

    await app(scope, receive, send)
    return status


async def credit(settings: Any) -> None:
    """Points for the admin account, so the priced models are admitted."""
    from patchbay.db.engine import make_engine, make_sessionmaker

    try:
        from patchbay.accounts import accounts
    except ImportError:  # trees before the accounts/ layout
        from patchbay.services import accounts  # type: ignore[no-redef]
    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            admin = await accounts.get_account(session, "admin")
            await accounts.credit(session, admin, 10**15, "bench")
    finally:
        await engine.dispose()


async def run(calls: int, concurrency: int, mark: bool = False) -> dict[str, Any]:
    from patchbay.app import serving_app
    from patchbay.settings import load_settings

    data = Path(tempfile.mkdtemp(prefix="patchbay-inprocess-"))
    (data / "patchbay.toml").write_text(CONFIG)
    os.environ["PATCHBAY_DATA_DIR"] = str(data)
    os.environ["PATCHBAY_ADMIN_KEY"] = KEY
    os.environ["PATCHBAY_DEFAULT_RPM"] = str(10**9)  # the admin key is made with it
    settings = load_settings(data / "patchbay.toml")
    from patchbay.cli import main  # noqa: F401  (the same imports as a served worker)

    try:
        from patchbay.runtime.bootstrap import bootstrap
    except ImportError:  # trees before the runtime/ layout
        from patchbay.services.bootstrap import bootstrap  # type: ignore[no-redef]
    await asyncio.to_thread(bootstrap, settings)
    await credit(settings)
    patch_transport()
    app = serving_app(settings)
    global RECEIVE
    RECEIVE = _receiver()
    inner = app.app
    results: dict[str, Any] = {}
    async with inner.router.lifespan_context(inner):
        app._gateway = inner.state.gateway
        admin = inner.state.gateway
        await admin.keys.authenticate(KEY)
        for name, (path, payload, headers) in {**CALLS, **STREAMED}.items():
            body = json.dumps(payload).encode()
            for _ in range(200):  # warm up
                status = await call(app, path, body, headers)
                assert status == 200, (name, status)
            queue = iter(range(calls))

            async def worker(
                path: str = path, body: bytes = body, headers: Any = headers, queue: Any = queue
            ) -> None:
                for _ in queue:
                    status = await call(app, path, body, headers)
                    assert status == 200, status

            if mark:
                os.getppid()  # callgrind dumps here: what came before is not this scenario's
            start_cpu, start = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
            if mark:
                os.getppid()  # and here: the dump since the last one is these calls alone
            results[name] = {"cpu_us": cpu / calls * 1e6, "wall_us": wall / calls * 1e6}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--src", type=Path)
    parser.add_argument("--mark", action="store_true", help="getppid() around each scenario")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, str(args.src / "src"))
    else:
        sys.path.insert(0, str(HERE.parent / "src"))
    import uvloop

    uvloop.install()
    print(json.dumps(asyncio.run(run(args.calls, args.concurrency, args.mark))))


if __name__ == "__main__":
    main()
