"""A transparent recording hop between an agent CLI and the gateway, on loopback.

Each request is forwarded as it came (method, path, query, headers, body) and its answer is
streamed back as it arrives; both are recorded, so a test can count the CLI's model calls and a
failure can show the exact body the gateway received and what it answered.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.servers import free_port

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
MODEL_CALLS = ("/v1/messages", "/v1/responses", "/v1/chat/completions")
SESSION = web.AppKey("session", aiohttp.ClientSession)


@dataclass
class Exchange:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    answer: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def is_model_call(self) -> bool:
        path = self.path.split("?", 1)[0]
        gemini = ":generateContent" in path or ":streamGenerateContent" in path
        return self.method == "POST" and (path in MODEL_CALLS or gemini)

    def describe(self, limit: int = 1500) -> str:
        answer = self.answer.decode(errors="replace")
        return f"{self.method} {self.path} -> {self.status}: {answer[:limit]}"


@dataclass
class Recorder:
    target: str
    port: int = 0
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def model_calls(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.is_model_call]

    def clear(self) -> None:
        self.exchanges.clear()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        exchange = Exchange(request.method, request.path_qs, dict(request.headers), body)
        self.exchanges.append(exchange)
        session: aiohttp.ClientSession = request.app[SESSION]
        async with session.request(
            request.method, self.target + request.path_qs, headers=headers, data=body
        ) as upstream:
            exchange.status = upstream.status
            reply = web.StreamResponse(
                status=upstream.status,
                headers={
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() not in HOP_BY_HOP | {"content-encoding"}
                },
            )
            await reply.prepare(request)
            async for chunk in upstream.content.iter_any():
                exchange.answer += chunk
                await reply.write(chunk)
            await reply.write_eof()
            return reply


def start_recorder(target: str) -> tuple[Recorder, Callable[[], None]]:
    recorder = Recorder(target, port=free_port())
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[SESSION] = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=300)
        )
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", recorder.port).start()
        holder["runner"], holder["session"] = runner, app[SESSION]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        async def close() -> None:
            await holder["runner"].cleanup()
            await holder["session"].close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return recorder, stop
