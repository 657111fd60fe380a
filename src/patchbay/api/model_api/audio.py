"""``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` (a form with the audio
``file``; answers in json, text, srt, vtt or verbose_json, as asked) and ``/v1/audio/speech``
(JSON in, the audio relayed as the upstream sends it)."""

from __future__ import annotations

from patchbay.api.exchange import Exchange
from patchbay.api.model_api.common import serve
from patchbay.asgi.replies import Reply


async def transcriptions(exchange: Exchange) -> Reply:
    return await serve(exchange, "transcriptions", "/audio/transcriptions")


async def translations(exchange: Exchange) -> Reply:
    return await serve(exchange, "translations", "/audio/translations")


async def speech(exchange: Exchange) -> Reply:
    return await serve(exchange, "speech", "/audio/speech")
