"""A slow Chat Completions upstream for the memory scenario: a stream drips ``x_chunks`` chunks
(from the request body; else its max tokens, as a translated call asks; default CHUNKS) one
every ``x_interval`` seconds (default INTERVAL).
Usage: python slow_upstream.py PORT CHUNKS INTERVAL"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web


def main() -> None:
    port, chunks, interval = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

    async def answer(request: web.Request) -> web.StreamResponse:
        asked = await request.json()
        # a translated call drops the x_ fields: its max tokens give the count instead
        limit = asked.get("max_completion_tokens") or asked.get("max_tokens") or chunks
        count = int(asked.get("x_chunks", limit))
        pause = float(asked.get("x_interval", interval))
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for i in range(count):
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "slow",
                "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}],
            }
            await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            await asyncio.sleep(pause)
        end = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "slow",
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": count, "total_tokens": count + 5},
        }
        await response.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    app.router.add_post("/sse/v1/chat/completions", answer)  # where the passthrough streams
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
