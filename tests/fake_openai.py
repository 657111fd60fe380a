"""A real Chat Completions server on loopback, for tests: answers ``You said: <last user text>``,
streams word by word, reports usage like OpenAI (usage chunk only with include_usage), checks
its key, records every request, and can be told to fail or stall."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers import free_port


@dataclass
class Faults:
    status: int | None = None  # answer this status with an OpenAI error envelope
    delay_s: float = 0.0  # before the first byte
    chunk_delay_s: float = 0.0
    drop_after_chunks: int | None = None  # break the connection mid-stream


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    api_key: str = "sk-upstream-secret-4242"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self.requests.clear()
        self.faults = Faults()

    def _error(self, status: int, message: str, kind: str) -> web.Response:
        return web.json_response(
            {"error": {"message": message, "type": kind, "param": None, "code": None}},
            status=status,
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(Recorded(request.path, dict(request.headers), body))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Incorrect API key provided", "invalid_request_error")
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.status:
            return self._error(self.faults.status, "injected failure", "server_error")
        last = next((m for m in reversed(body["messages"]) if m["role"] == "user"), {})
        content = last.get("content") or ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "[image]") for p in content)
        words = f"You said: {content}".split()
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "stop"
        if limit is not None and len(words) > limit:
            words, finish = words[:limit], "length"
        prompt = sum(len(str(m.get("content") or "").split()) for m in body["messages"])
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        }
        if isinstance(body.get("x_test_usage"), dict):  # tests dictate the reported usage
            usage = body["x_test_usage"]
        if body.get("stream"):
            return await self._stream(request, body, words, finish, usage)
        return web.json_response(
            {
                "id": "chatcmpl-fake1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(words)},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            }
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        words: list[str],
        finish: str,
        usage: dict[str, int],
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        base = {
            "id": "chatcmpl-fake2",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
        }
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"content": (" " if i else "") + w} for i, w in enumerate(words)]
        for index, delta in enumerate(deltas):
            if self.faults.drop_after_chunks is not None and index >= self.faults.drop_after_chunks:
                request.transport.close()  # type: ignore[union-attr]
                return response
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            await response.write(b"data: " + web.json_response(chunk).body + b"\n\n")
            if self.faults.chunk_delay_s:
                await asyncio.sleep(self.faults.chunk_delay_s)
        end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        await response.write(b"data: " + web.json_response(end).body + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            tail = {**base, "choices": [], "usage": usage}
            await response.write(b"data: " + web.json_response(tail).body + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        return response


def start_fake_openai() -> tuple[FakeOpenAI, Any]:
    fake = FakeOpenAI(port=free_port())
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", fake.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", fake.port).start()
        return runner

    holder: dict[str, web.AppRunner] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["runner"] = loop.run_until_complete(serve())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)

    return fake, stop
