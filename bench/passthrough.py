"""The Python floor: a bare aiohttp server that forwards every call the scenarios make — Chat
Completions, Responses, Anthropic Messages, Gemini generateContent and streamGenerateContent —
to the same nginx path as Patchbay's route for it, with a pooled aiohttp client, and relays
the answer (streams chunk by chunk, as they come). No auth, no limits, no metering, no parsing
beyond spotting ``"stream": true``: what any Python gateway costs at the least.

Usage: python passthrough.py PORT UPSTREAM_BASE   (streams go to UPSTREAM_BASE/sse/v1/...;
Gemini's to UPSTREAM_BASE/v1beta/models/bench-upstream:streamGenerateContent?alt=sse)
"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web

BEARER = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
ANTHROPIC = {
    "content-type": "application/json",
    "x-api-key": "sk-bench",
    "anthropic-version": "2023-06-01",
}
GEMINI = {"content-type": "application/json", "x-goog-api-key": "sk-bench"}


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    session: dict[str, aiohttp.ClientSession] = {}

    async def start(app: web.Application) -> None:
        session["s"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await session["s"].close()

    async def relay(
        request: web.Request, url: str, headers: dict[str, str], body: bytes, stream: bool
    ) -> web.StreamResponse:
        async with session["s"].post(url, data=body, headers=headers) as answer:
            kind = answer.headers.get("content-type", "application/json")
            if not stream:
                return web.Response(
                    body=await answer.read(), status=answer.status, headers={"content-type": kind}
                )
            response = web.StreamResponse(status=answer.status, headers={"content-type": kind})
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def streamed(body: bytes) -> bool:
        return b'"stream": true' in body or b'"stream":true' in body

    def route(headers: dict[str, str]):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            stream = streamed(body)
            url = upstream + ("/sse" if stream else "") + request.path
            return await relay(request, url, headers, body, stream)

        return handler

    async def gemini(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        method = request.match_info["target"].rpartition(":")[2]
        stream = method == "streamGenerateContent"
        url = f"{upstream}/v1beta/models/bench-upstream:{method}" + ("?alt=sse" if stream else "")
        return await relay(request, url, GEMINI, body, stream)

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/v1/chat/completions", route(BEARER))
    app.router.add_post("/v1/responses", route(BEARER))
    app.router.add_post("/v1/messages", route(ANTHROPIC))
    app.router.add_post("/v1beta/models/{target}", gemini)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
