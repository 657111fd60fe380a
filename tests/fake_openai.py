"""A real upstream on loopback speaking Chat Completions, Responses, Anthropic Messages and
Gemini (see fake_brain for what it answers): streams word by word with each protocol's events,
reports usage as each API does, checks its key the way each API does, records every request, and
can be told to fail, stall or break mid-stream."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests import fake_media
from tests import fake_wire_more as wire
from tests.fake_brain import think
from tests.fake_wire import chat_ask, chat_body, chat_chunks
from tests.servers import free_port


@dataclass
class Faults:
    status: int | None = None  # answer this status with an OpenAI error envelope
    delay_s: float = 0.0  # before the first byte
    chunk_delay_s: float = 0.0
    drop_after_chunks: int | None = None  # break the connection mid-stream
    set_cookie: bool = False  # answers carry a Set-Cookie header
    message: str | None = None  # the error message of an injected ``status``
    no_usage: bool = False  # whole answers carry no usage at all
    retry_after: str | None = None  # the Retry-After header of an injected ``status``


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

    @property
    def root_url(self) -> str:
        """Base URL for the anthropic and gemini kinds (their SDKs take no /v1)."""
        return f"http://127.0.0.1:{self.port}"

    def _error(self, status: int, message: str, kind: str, protocol: str = "chat") -> web.Response:
        """An error in the envelope of the protocol asked (as each real API sends it)."""
        if protocol == "anthropic":
            body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
        elif protocol == "gemini":
            status_name = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED"}.get(status, "INTERNAL")
            body = {"error": {"code": status, "message": message, "status": status_name}}
        else:
            body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return web.json_response(body, status=status)

    def _authorized(self, request: web.Request, protocol: str) -> bool:
        headers = request.headers
        if protocol == "anthropic":
            return headers.get("x-api-key") == self.api_key
        if protocol == "gemini":
            return self.api_key in (headers.get("x-goog-api-key"), request.query.get("key"))
        return headers.get("authorization") == f"Bearer {self.api_key}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        protocol = PROTOCOLS[request.match_info.route.name or "chat"]
        body = await request.json()
        self.requests.append(Recorded(request.path, dict(request.headers), body))
        if not self._authorized(request, protocol):
            return self._error(401, "Incorrect API key provided", "authentication_error", protocol)
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        if self.faults.status:
            kind = "invalid_request_error" if self.faults.status < 500 else "server_error"
            message = self.faults.message or "injected failure"
            refusal = self._error(self.faults.status, message, kind, protocol)
            if self.faults.retry_after is not None:
                refusal.headers["retry-after"] = self.faults.retry_after
            return refusal
        ask, whole, chunks = WIRES[protocol]
        if request.path.endswith(("/count_tokens", ":countTokens")):  # counted as words
            words = ask({"max_tokens": 1, **body}).prompt_words
            key = "input_tokens" if protocol == "anthropic" else "totalTokens"
            return web.json_response({key: words})
        answer = think(ask(body))
        streaming = body.get("stream") or request.path.endswith(":streamGenerateContent")
        if not streaming:
            data = whole(body, answer)
            if protocol == "chat" and isinstance(body.get("x_test_usage"), dict):
                data["usage"] = body["x_test_usage"]  # tests dictate the reported usage
            if self.faults.no_usage:
                data.pop("usage", None)
                data.pop("usageMetadata", None)
            reply = web.json_response(data)
            if self.faults.set_cookie:
                reply.set_cookie("upstream_session", "user-a-secret")
            return reply
        return await self._stream(request, chunks(body, answer), body)

    async def _stream(
        self, request: web.Request, chunks: list[bytes], body: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for index, chunk in enumerate(chunks):
            if self.faults.drop_after_chunks is not None and index >= self.faults.drop_after_chunks:
                request.transport.close()  # type: ignore[union-attr]
                return response
            if isinstance(body.get("x_test_usage"), dict) and b'"usage": {' in chunk:
                data = json.loads(chunk[6:])
                data["usage"] = body["x_test_usage"]
                chunk = b"data: " + json.dumps(data).encode() + b"\n\n"
            await response.write(chunk)
            if self.faults.chunk_delay_s:
                await asyncio.sleep(self.faults.chunk_delay_s)
        return response


PROTOCOLS = {
    "chat": "chat",
    "responses": "responses",
    "anthropic": "anthropic",
    "anthropic-count": "anthropic",
    "gemini": "gemini",
}
WIRES = {
    "chat": (chat_ask, chat_body, chat_chunks),
    "responses": (wire.responses_ask, wire.responses_body, wire.responses_chunks),
    "anthropic": (wire.anthropic_ask, wire.anthropic_body, wire.anthropic_chunks),
    "gemini": (wire.gemini_ask, wire.gemini_body, wire.gemini_chunks),
}


def start_fake_openai() -> tuple[FakeOpenAI, Any]:
    fake = FakeOpenAI(port=free_port())
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", fake.handle, name="chat")
        app.router.add_post("/v1/responses", fake.handle, name="responses")
        app.router.add_post("/v1/messages", fake.handle, name="anthropic")
        app.router.add_post("/v1/messages/count_tokens", fake.handle, name="anthropic-count")
        fake_media.register(app, fake)  # embeddings, images, audio, videos...; Gemini embeddings
        app.router.add_post("/v1beta/models/{target}", fake.handle, name="gemini")
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
