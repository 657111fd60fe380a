"""Streams of the non-chat endpoints, relayed as they come while their usage is read.

- ``CompletionRelay``: ``/v1/completions`` SSE, the Chat relay's twin (choices carry ``text``,
  not ``delta``): text held as it passes (counted if the stream ends without usage), the
  usage chunk (asked of the upstream) settled and given the cost, and dropped again if the
  client had not asked for usage;
- ``UsageRelay``: image and transcription streams (``image_generation.completed``,
  ``image_edit.completed``, ``transcript.text.done``): events pass untouched; each completed
  image counts one image, reported usage is added, and the total is settled at the end.
"""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.providers.base import Tally
from patchbay.providers.endpoints.metering import token_usage
from patchbay.providers.native.openai_chat import ChatRelay
from patchbay.providers.native.relay import SSERelay, event_data

IMAGE_DONE = (b"image_generation.completed", b"image_edit.completed")


class CompletionRelay(ChatRelay):
    def _observe(self, payload: bytes) -> None:
        if payload.find(b'"text"') >= 0:
            self.hold(payload)

    def _text(self, data: dict[str, Any]) -> str:
        return "".join(
            str(choice.get("text") or "")
            for choice in data.get("choices") or ()
            if isinstance(choice, dict)
        )


def completion_relay(
    tally: Tally, body: dict[str, Any], model: str, upstream_model: str
) -> CompletionRelay:
    options = body.get("stream_options")
    include = isinstance(options, dict) and options.get("include_usage") is True
    return CompletionRelay(tally, model, upstream_model, include)


class UsageRelay(SSERelay):
    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        self.usage = Usage()
        self.seen = False

    def event(self, event: bytes) -> bytes:
        payload = event_data(event)
        if payload is not None and payload.find(b'"usage"') >= 0:
            try:
                data = orjson.loads(payload)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                found = token_usage(data.get("usage")) or Usage()
                images = 1 if any(kind in payload for kind in IMAGE_DONE) else 0
                self.usage = self.usage + Usage(
                    input_tokens=found.input_tokens,
                    output_tokens=found.output_tokens,
                    images=images,
                )
                self.seen = True
        return event + b"\n\n"

    def end(self) -> bytes:
        if self.seen:
            self.report(self.usage)
        return b""

    def fail(self, error: GatewayError) -> bytes:
        body = {
            "type": "error",
            "error": {"type": error.kind, "message": error.message, "code": error.code},
        }
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"
