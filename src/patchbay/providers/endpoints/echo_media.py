"""``echo`` on the media endpoints (see ``media`` for the files it makes).

- images (generations and edits): ``n`` 16×16 PNGs of one colour, from a hash of the prompt
  (and, for edits, of the uploaded images), as ``b64_json`` or a ``data:`` URL;
- speech: a WAV tone lasting 60 ms per character of ``input`` (0.2 s to 30 s) that carries the
  input text; ``pcm`` gives the bare samples. Streamed in blocks;
- transcriptions and translations: the text an echo WAV carries, else the ``prompt`` field,
  else a note of the upload's size; the duration from the WAV header; every
  ``response_format`` (json, text, srt, vtt, verbose_json);
- videos: a task that is ``queued`` when created and ``completed`` at its first look-up with a
  16×16 MP4 of ``seconds`` one-second frames; a prompt containing ``!fail`` makes it fail.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from patchbay.accounting import tokens
from patchbay.errors import InvalidRequest, NotFound
from patchbay.providers.endpoints import media
from patchbay.providers.endpoints.base import Answer, EndpointRequest

TAIL = 64 << 10  # echo's WAV keeps its text at the end
BLOCK = 4096


def _colour(*parts: bytes) -> tuple[int, int, int]:
    digest = hashlib.sha256(b"|".join(parts)).digest()
    return digest[0], digest[1], digest[2]


def _count(value: Any, default: int = 1) -> int:
    try:
        return max(1, min(10, int(value)))
    except (TypeError, ValueError):
        return default


def images(request: EndpointRequest) -> dict[str, Any]:
    body = request.body
    prompt = str(body.get("prompt") or "")
    uploads = [f.head for f in request.form.files] if request.form else []
    picture = media.png(16, 16, _colour(prompt.encode(), *uploads))
    encoded = base64.b64encode(picture).decode()
    as_url = body.get("response_format") == "url"
    item = {"url": f"data:image/png;base64,{encoded}"} if as_url else {"b64_json": encoded}
    used = tokens.count_text(prompt)
    return {
        "created": int(time.time()),
        "data": [dict(item) for _ in range(_count(body.get("n")))],
        "output_format": "png",
        "size": str(body.get("size") or "1024x1024"),
        "usage": {
            "input_tokens": used,
            "input_tokens_details": {"text_tokens": used, "image_tokens": 0},
            "output_tokens": 0,
            "total_tokens": used,
        },
    }


async def _blocks(data: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(data), BLOCK):
        yield data[at : at + BLOCK]


def speech(request: EndpointRequest) -> Answer:
    text = request.body.get("input")
    if not isinstance(text, str):
        raise InvalidRequest("input must be a string", param="input")
    seconds = min(30.0, max(0.2, 0.06 * len(text)))
    audio = media.wav(seconds, text)
    if request.body.get("response_format") == "pcm":
        return Answer(
            content_type="audio/pcm", chunks=_blocks(audio[44 : 44 + int(seconds * 16000)])
        )
    return Answer(content_type="audio/wav", chunks=_blocks(audio))


def _stamp(seconds: float, comma: bool) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02}:{m:02}:{s:02}{',' if comma else '.'}{ms:03}"


def transcript(request: EndpointRequest) -> Answer:
    body = request.body
    files = request.form.files if request.form else []
    if not files:
        raise InvalidRequest("file is required", param="file")
    upload = files[0]
    text = (
        media.wav_text(upload.head[:4] + upload.read_tail(TAIL))
        if upload.head[:4] == b"RIFF"
        else None
    )
    text = text or str(body.get("prompt") or "") or f"(echo heard {upload.size} bytes of audio)"
    duration = media.wav_seconds(upload.head, upload.size) or 0.0
    fmt = body.get("response_format") or "json"
    usage = {"type": "duration", "seconds": math.ceil(duration)}
    if fmt == "text":
        return Answer(content_type="text/plain; charset=utf-8", raw=text.encode())
    if fmt == "srt":
        cue = f"1\n{_stamp(0, True)} --> {_stamp(duration, True)}\n{text}\n\n"
        return Answer(content_type="text/plain; charset=utf-8", raw=cue.encode())
    if fmt == "vtt":
        cue = f"WEBVTT\n\n{_stamp(0, False)} --> {_stamp(duration, False)}\n{text}\n\n"
        return Answer(content_type="text/vtt; charset=utf-8", raw=cue.encode())
    if fmt != "verbose_json":
        data: dict[str, Any] = {"text": text}
        if request.endpoint == "transcriptions":
            data["usage"] = usage
        return Answer(data=data)
    segment = {
        "id": 0, "seek": 0, "start": 0.0, "end": round(duration, 3), "text": text,
        "tokens": list(range(tokens.count_text(text))), "temperature": 0.0,
        "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0,
    }  # fmt: skip
    verbose: dict[str, Any] = {
        "task": "transcribe" if request.endpoint == "transcriptions" else "translate",
        "language": str(body.get("language") or "english"),
        "duration": round(duration, 3),
        "text": text,
        "segments": [segment],
    }
    if request.endpoint == "transcriptions":
        verbose["usage"] = usage
    return Answer(data=verbose)


def _video_id(body: dict[str, Any]) -> str:
    raw = str(body.get("seconds") or "4")
    seconds = int(raw) if raw.isdigit() and 0 < int(raw) <= 60 else 4
    prompt = str(body.get("prompt") or "")
    failing = "1" if "!fail" in prompt else "0"
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
    return f"echo-{seconds}-{failing}-{digest}"


def _video_object(upstream_id: str, status: str, body: dict[str, Any] | None) -> dict[str, Any]:
    _, seconds, failing, _ = upstream_id.split("-", 3)
    video: dict[str, Any] = {
        "id": upstream_id,
        "object": "video",
        "status": status,
        "progress": 100 if status in ("completed", "failed") else 0,
        "created_at": int(time.time()),
        "seconds": seconds,
        "size": "16x16",
    }
    if body is not None:
        video.update(prompt=body.get("prompt"), size=str(body.get("size") or "720x1280"))
    if status == "completed":
        video["completed_at"] = int(time.time())
    if status == "failed":
        video["error"] = {"code": "echo_failure", "message": "the prompt asked echo to fail"}
    return video


def create_video(request: EndpointRequest) -> dict[str, Any]:
    return _video_object(_video_id(request.body), "queued", request.body)


def video(upstream_id: str, variant: str | None) -> Answer:
    try:
        _, seconds, failing, digest = upstream_id.split("-", 3)
        length = int(seconds)
    except ValueError:
        raise NotFound(f"no video '{upstream_id}'") from None
    if variant is None:
        return Answer(
            data=_video_object(upstream_id, "failed" if failing == "1" else "completed", None)
        )
    colour = _colour(digest.encode())
    if variant == "video":
        return Answer(content_type="video/mp4", chunks=_blocks(media.mp4(length, colour)))
    return Answer(content_type="image/png", chunks=_blocks(media.png(16, 16, colour)))


def answer(request: EndpointRequest) -> Answer:
    endpoint = request.endpoint
    if endpoint == "images":
        return Answer(data=images(request))
    if endpoint == "speech":
        return speech(request)
    if endpoint in ("transcriptions", "translations"):
        return transcript(request)
    if endpoint == "videos":
        return Answer(data=create_video(request))
    raise InvalidRequest(f"echo does not serve the {endpoint} endpoint")
