"""What each non-chat call consumed, read from its OpenAI-shape answer (pure).

- embeddings, completions, rerank: the upstream's token usage; when it reports none, the
  gateway counts the input (and a completion's text) and marks the usage ``estimated``;
- moderations and speech: the input's tokens, counted by the gateway (OpenAI reports none);
- images: one ``image`` per picture returned, plus the tokens the upstream reports;
- transcriptions and translations: the upstream's usage (tokens, or seconds of audio), else
  the audio's duration from the answer (``verbose_json``, ``srt``, ``vtt``) or from the
  uploaded file's WAV header (``estimated``);
- videos: seconds of video, charged when the task completes (``proxy.videos``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from patchbay.accounting.tokens import count_text
from patchbay.domain.usage import Usage
from patchbay.protocols.openai_usage import usage_from_openai_chat
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.media import wav_seconds

_TIMESTAMP = re.compile(rb"(\d+):(\d\d):(\d\d)[,.](\d{3})")


def texts(value: Any) -> list[str]:
    """The text items of an ``input``/``prompt``/``documents`` value (token arrays skipped)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        text = value.get("text")
        return [text] if isinstance(text, str) else []
    if isinstance(value, list):
        return [t for item in value if not isinstance(item, int) for t in texts(item)]
    return []


def token_ids(value: Any) -> int:
    """How many token ids an ``input``/``prompt`` given as token arrays holds."""
    if isinstance(value, list):
        return sum(1 if isinstance(i, int) else token_ids(i) for i in value)
    return 0


def counted(*values: Any) -> int:
    return sum(count_text(t) for v in values for t in texts(v)) + sum(map(token_ids, values))


def token_usage(usage: Any) -> Usage | None:
    """``prompt_tokens``/``completion_tokens`` or ``input_tokens``/``output_tokens`` usage."""
    if not isinstance(usage, dict):
        return None
    found = usage_from_openai_chat(usage)
    if found is not None:
        return found
    inputs, outputs = usage.get("input_tokens"), usage.get("output_tokens")
    if isinstance(inputs, int) or isinstance(outputs, int):
        return Usage(
            input_tokens=inputs if isinstance(inputs, int) else 0,
            output_tokens=outputs if isinstance(outputs, int) else 0,
        )
    total = usage.get("total_tokens")
    return Usage(input_tokens=total) if isinstance(total, int) else None


def _completion_text(data: dict[str, Any]) -> str:
    return "".join(
        str(c.get("text") or "") for c in data.get("choices") or () if isinstance(c, dict)
    )


def _seconds(value: Any) -> int:
    try:
        return max(0, math.ceil(float(value)))
    except (TypeError, ValueError, OverflowError):
        return 0


def audio_usage(request: EndpointRequest, data: dict[str, Any] | None, raw: bytes | None) -> Usage:
    if data is not None:
        usage = data.get("usage")
        if isinstance(usage, dict) and usage.get("type") == "duration":
            return Usage(seconds=_seconds(usage.get("seconds")))
        found = token_usage(usage) if isinstance(usage, dict) else None
        if found is not None:
            return found
        if "duration" in data:
            return Usage(seconds=_seconds(data.get("duration")))
    elif raw:
        stamps = _TIMESTAMP.findall(raw[-4096:])
        if stamps:
            h, m, s, ms = (int(x) for x in stamps[-1])
            return Usage(seconds=math.ceil(h * 3600 + m * 60 + s + ms / 1000))
    files = request.form.files if request.form else []
    measured = sum(wav_seconds(f.head, f.size) or 0.0 for f in files)
    return Usage(seconds=math.ceil(measured), estimated=True)


def usage_of(request: EndpointRequest, data: dict[str, Any] | None, raw: bytes | None) -> Usage:
    """The usage of a whole answer (``data`` when it is JSON, ``raw`` otherwise)."""
    endpoint, body = request.endpoint, request.body
    if endpoint in ("transcriptions", "translations"):
        return audio_usage(request, data, raw)
    reported = token_usage(data.get("usage")) if data is not None else None
    if endpoint == "images":
        images = data.get("data") if data is not None else None
        count = len(images) if isinstance(images, list) else 0
        base = reported or Usage()
        return Usage(input_tokens=base.input_tokens, output_tokens=base.output_tokens, images=count)
    if reported is not None:
        return reported
    if endpoint == "completions":
        produced = count_text(_completion_text(data)) if data is not None else 0
        return Usage(
            input_tokens=counted(body.get("prompt")), output_tokens=produced, estimated=True
        )
    if endpoint == "rerank":
        return Usage(input_tokens=counted(body.get("query"), body.get("documents")), estimated=True)
    return Usage(input_tokens=counted(body.get("input")), estimated=True)
