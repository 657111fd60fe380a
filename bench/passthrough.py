"""The Python floor: a bare aiohttp server that forwards POST /v1/chat/completions (and
/v1/messages, and Gemini's generateContent) to the upstream with a pooled aiohttp client and
relays the answer (streams chunk by chunk). No auth, no limits, no metering: what any Python
gateway costs at the least.

Usage: python passthrough.py PORT UPSTREAM_BASE   (streams go to UPSTREAM_BASE/sse/v1/...)
"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    session: dict[str, aiohttp.ClientSession] = {}

    async def start(app: web.Application) -> None:
        session["s"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await session["s"].close()

    async def relay(request: web.Request, url: str, headers: dict[str, str]) -> web.Response:
        body = await request.read()
        async with session["s"].post(url, data=body, headers=headers) as answer:
            return web.Response(
                body=await answer.read(), status=answer.status, content_type="application/json"
            )

    async def messages(request: web.Request) -> web.Response:
        headers = {"content-type": "application/json", "x-api-key": "sk-bench"}
        return await relay(request, f"{upstream}/v1/messages", headers)

    async def gemini(request: web.Request) -> web.Response:
        headers = {"content-type": "application/json", "x-goog-api-key": "sk-bench"}
        url = f"{upstream}/v1beta/models/bench-upstream:generateContent"
        return await relay(request, url, headers)

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        stream = b'"stream": true' in body or b'"stream":true' in body
        url = f"{upstream}/sse/v1/chat/completions" if stream else f"{upstream}/v1/chat/completions"
        headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
        async with session["s"].post(url, data=body, headers=headers) as answer:
            if not stream:
                return web.Response(
                    body=await answer.read(), status=answer.status, content_type="application/json"
                )
            response = web.StreamResponse(
                status=answer.status, headers={"content-type": "text/event-stream"}
            )
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/v1/chat/completions", forward)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1beta/models/{target}", gemini)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
