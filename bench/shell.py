"""Patchbay's shell: the server and client Patchbay runs on, with none of the gateway's work.

uvicorn (uvloop, Patchbay's own HTTP protocol: coalesced writes, head deadlines), an ASGI app
of a few lines, Patchbay's pooled ``UpstreamClient`` and its ``SSEResponse`` for streams. It
forwards Chat Completions to the same nginx paths as Patchbay's routes (``/sse/v1/...`` for
streams), the model rewritten as Patchbay does, and relays the answer — no key, no limits, no
admission, no metering, no request lines. Beside the aiohttp passthrough it shows what the
front end costs; beside Patchbay, what the gateway's own per-call work costs.

Usage: python shell.py PORT UPSTREAM_BASE
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from typing import Any

import orjson
import uvicorn

from patchbay.asgi.replies import JSONReply
from patchbay.asgi.sse import LastChunk, SSEResponse
from patchbay.upstream.client import UpstreamClient, UpstreamStream

HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
TIMEOUT_S = 60.0


def application(upstream: str) -> Any:
    client: dict[str, UpstreamClient] = {}

    async def read(receive: Any) -> bytes:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                return body

    async def relay(answer: UpstreamStream) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in answer.chunks:
                if answer.at_eof():
                    yield LastChunk(chunk)
                    return
                yield chunk
        finally:
            await answer.aclose()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    client["c"] = UpstreamClient(allow_private=True)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await client["c"].aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] != "/v1/chat/completions":  # the harness's "is it up?" probe
            await JSONReply(b"{}")(scope, receive, send)
            return
        data = orjson.loads(await read(receive))
        data["model"] = "bench-upstream"
        body = orjson.dumps(data)
        if data.get("stream"):
            url = upstream + "/sse/v1/chat/completions"
            answer = await client["c"].open_stream("bench", url, body, HEADERS, TIMEOUT_S)
            await SSEResponse(relay(answer))(scope, receive, send)
            return
        url = upstream + "/v1/chat/completions"
        whole = await client["c"].post("bench", url, body, HEADERS, TIMEOUT_S)
        await JSONReply(whole.body, whole.status)(scope, receive, send)

    return app


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2].rstrip("/")
    uvicorn.run(
        application(upstream),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="patchbay.asgi.deadlines:ServerProtocol",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
