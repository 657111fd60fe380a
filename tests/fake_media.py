"""The fake upstream's non-chat endpoints, in OpenAI's and Gemini's shapes: embeddings (float
and base64), completions (JSON, and SSE whose usage chunk comes only when asked for, as
OpenAI's does), moderations, images (generations, and edits as multipart), transcriptions and
translations (multipart; json, text, srt, vtt, verbose_json), speech (streamed in chunks),
rerank (Cohere/Jina shape), video tasks (queued → in_progress → completed, or failed), and
Gemini's embedContent / batchEmbedContents and image output.

Deterministic counts a test can price: a text's tokens are its words; every image is one
1×1 PNG; an audio file lasts what its WAV header says (3 s otherwise); a video has the seconds
it was asked for.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import struct
import wave
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fake_openai import FakeOpenAI

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
IMAGE = base64.b64encode(PNG).decode()
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4000
SPEECH_CHUNKS = 5


def words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(words(v) for v in value)
    if isinstance(value, dict):
        return words(value.get("text"))
    return 0


def wav_seconds(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError):
        return 3.0


def make_wav(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00" * int(seconds * rate))
    return out.getvalue()


class Media:
    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.videos: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    async def _open(self, request: web.Request, protocol: str = "chat") -> tuple[Any, Any]:
        """Record the request; the refusal to send if the fake is told to fail."""
        from tests.fake_openai import Recorded

        if request.content_type.startswith("multipart/"):
            body: dict[str, Any] = {"_files": []}
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.filename:  # type: ignore[union-attr]
                    body["_files"].append(
                        {
                            "name": part.name,  # type: ignore[union-attr]
                            "filename": part.filename,  # type: ignore[union-attr]
                            "content_type": part.headers.get("content-type"),  # type: ignore[union-attr]
                            "data": bytes(data),
                        }
                    )
                else:
                    body.setdefault(part.name, data.decode())  # type: ignore[union-attr]
        elif request.method == "POST":
            body = await request.json()
        else:
            body = dict(request.query)
        fake = self.fake
        fake.requests.append(Recorded(request.path, dict(request.headers), body))
        if not fake._authorized(request, protocol):
            return body, fake._error(
                401, "Incorrect API key provided", "authentication_error", protocol
            )
        if fake.faults.delay_s:
            await asyncio.sleep(fake.faults.delay_s)
        if fake.faults.status:
            kind = "invalid_request_error" if fake.faults.status < 500 else "server_error"
            message = fake.faults.message or "injected failure"
            return body, fake._error(fake.faults.status, message, kind, protocol)
        return body, None

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        items = body["input"] if isinstance(body["input"], list) else [body["input"]]
        size = body.get("dimensions") or 8
        data = []
        for index in range(len(items)):
            vector = [round((index + 1) * 0.1 + i * 0.01, 4) for i in range(size)]
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = words(items)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        text = f"fake completion of {body.get('prompt')}"
        prompt, produced = words(body.get("prompt")), words(text)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": produced,
            "total_tokens": prompt + produced,
        }
        base = {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": 1,
            "model": body["model"],
        }
        if not body.get("stream"):
            choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}
            return web.json_response({**base, "choices": [choice], "usage": usage})
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for index, piece in enumerate(text.split(" ")):
            choice = {
                "text": (" " if index else "") + piece,
                "index": 0,
                "logprobs": None,
                "finish_reason": None,
            }
            await response.write(
                b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"
            )
        last = {"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}
        await response.write(b"data: " + json.dumps({**base, "choices": [last]}).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            await response.write(
                b"data: " + json.dumps({**base, "choices": [], "usage": usage}).encode() + b"\n\n"
            )
        await response.write(b"data: [DONE]\n\n")
        return response

    async def moderations(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        names = ["harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
                 "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent",
                 "sexual", "sexual/minors", "violence", "violence/graphic"]  # fmt: skip
        items = body["input"] if isinstance(body["input"], list) else [body["input"]]
        flagged = [isinstance(i, str) and "attack" in i for i in items]
        results = [
            {
                "flagged": f,
                "categories": {n: f and n == "violence" for n in names},
                "category_scores": {n: 0.9 if f and n == "violence" else 0.01 for n in names},
                "category_applied_input_types": {n: ["text"] for n in names},
            }
            for f in flagged
        ]
        return web.json_response(
            {"id": "modr-fake", "model": body.get("model"), "results": results}
        )

    def _images(self, body: dict[str, Any]) -> web.Response:
        count = int(body.get("n") or 1)
        tokens = words(body.get("prompt"))
        return web.json_response(
            {
                "created": 1,
                "data": [{"b64_json": base64.b64encode(PNG).decode()} for _ in range(count)],
                "usage": {
                    "input_tokens": tokens,
                    "input_tokens_details": {"text_tokens": tokens, "image_tokens": 0},
                    "output_tokens": 0,
                    "total_tokens": tokens,
                },
            }
        )

    async def images(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        if request.path.endswith("/edits") and not body.get("_files"):
            return self.fake._error(400, "image is required", "invalid_request_error")
        if body.get("stream") in (True, "true"):
            return await self._image_stream(request, body)
        return self._images(body)

    async def _image_stream(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """Partial images, then the completed one with its usage (OpenAI's image stream)."""
        kind = "image_edit" if request.path.endswith("/edits") else "image_generation"
        common = {"b64_json": IMAGE, "background": "opaque", "created_at": 1}
        common |= {"output_format": "png", "quality": "low", "size": "1024x1024"}
        tokens = words(body.get("prompt"))
        usage = {"input_tokens": tokens, "output_tokens": 3, "total_tokens": tokens + 3}
        usage["input_tokens_details"] = {"image_tokens": 0, "text_tokens": tokens}
        events = [
            {**common, "type": f"{kind}.partial_image", "partial_image_index": 0},
            {**common, "type": f"{kind}.completed", "usage": usage},
        ]
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            data = json.dumps(event).encode()
            await response.write(b"event: " + event["type"].encode() + b"\ndata: " + data + b"\n\n")
        return response

    async def audio(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        upload = next((f for f in body.get("_files", []) if f["name"] == "file"), None)
        if upload is None:
            return self.fake._error(400, "file is required", "invalid_request_error")
        seconds = wav_seconds(upload["data"])
        text = f"heard {len(upload['data'])} bytes"
        fmt = body.get("response_format", "json")
        if fmt == "text":
            return web.Response(text=text, content_type="text/plain")
        if fmt in ("srt", "vtt"):
            end = f"00:00:{int(seconds):02},{int(seconds * 1000) % 1000:03}"
            head = "WEBVTT\n\n" if fmt == "vtt" else "1\n"
            return web.Response(
                text=f"{head}00:00:00,000 --> {end}\n{text}\n\n", content_type="text/plain"
            )
        if fmt == "verbose_json":
            return web.json_response(
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": seconds,
                    "text": text,
                    "segments": [],
                }
            )
        answer: dict[str, Any] = {"text": text}
        if request.path.endswith("/transcriptions"):
            answer["usage"] = {"type": "duration", "seconds": seconds}
        return web.json_response(answer)

    async def speech(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        audio = make_wav(0.5)
        response = web.StreamResponse(headers={"content-type": "audio/wav"})
        await response.prepare(request)
        step = len(audio) // SPEECH_CHUNKS + 1
        for at in range(0, len(audio), step):
            await response.write(audio[at : at + step])
            await asyncio.sleep(self.fake.faults.chunk_delay_s or 0.01)
        return response

    async def rerank(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        documents = body["documents"]
        results = [
            {"index": i, "relevance_score": round(1 / (i + 1), 3)} for i in range(len(documents))
        ]
        results = results[: body.get("top_n") or len(results)]
        tokens = words(body["query"]) + words(documents)
        return web.json_response(
            {
                "id": "rerank-fake",
                "model": body["model"],
                "results": results,
                "usage": {"total_tokens": tokens},
            }
        )

    async def create_video(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request)
        if refused is not None:
            return refused
        video_id = f"vid_fake_{next(self.ids)}"
        video = {
            "id": video_id, "object": "video", "model": body.get("model"), "status": "queued",
            "progress": 0, "created_at": 1, "seconds": str(body.get("seconds") or "4"),
            "size": body.get("size") or "720x1280", "prompt": body.get("prompt"), "looks": 0,
        }  # fmt: skip
        self.videos[video_id] = video
        return web.json_response(video)

    async def get_video(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._open(request)
        if refused is not None:
            return refused
        video = self.videos.get(request.match_info["video_id"])
        if video is None:
            return self.fake._error(404, "no such video", "invalid_request_error")
        video["looks"] += 1
        if video["looks"] == 1:
            video.update(status="in_progress", progress=50)
        elif "fail" in str(video.get("prompt")):
            video.update(
                status="failed",
                progress=100,
                error={"code": "moderation_blocked", "message": "blocked"},
            )
        else:
            video.update(status="completed", progress=100, completed_at=2)
        return web.json_response({k: v for k, v in video.items() if k != "looks"})

    async def video_content(self, request: web.Request) -> web.StreamResponse:
        _, refused = await self._open(request)
        if refused is not None:
            return refused
        video = self.videos.get(request.match_info["video_id"])
        if video is None or video["status"] != "completed":
            return self.fake._error(404, "video is not ready", "invalid_request_error")
        response = web.StreamResponse(headers={"content-type": "video/mp4"})
        await response.prepare(request)
        for at in range(0, len(VIDEO_BYTES), 1000):
            await response.write(VIDEO_BYTES[at : at + 1000])
        return response

    async def gemini_embed(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._open(request, "gemini")
        if refused is not None:
            return refused
        model, _, method = request.match_info["target"].rpartition(":")

        def values(content: dict[str, Any], index: int, dims: int | None) -> dict[str, Any]:
            size = dims or 6
            return {"values": [round((index + 1) * 0.5 + i * 0.001, 4) for i in range(size)]}

        if method == "embedContent":
            return web.json_response(
                {"embedding": values(body["content"], 0, body.get("outputDimensionality"))}
            )
        if method == "batchEmbedContents":
            for item in body["requests"]:
                if item.get("model") != f"models/{model}":
                    return self.fake._error(
                        400, "requests[].model must match the URL", "x", "gemini"
                    )
            return web.json_response(
                {
                    "embeddings": [
                        values(r["content"], i, r.get("outputDimensionality"))
                        for i, r in enumerate(body["requests"])
                    ]
                }
            )
        return self.fake._error(404, f"no method {method}", "x", "gemini")

    async def gemini_image(self, request: web.Request) -> web.StreamResponse:
        """``generateContent`` of an image model (upstream names ``img-…``): inline images."""
        body, refused = await self._open(request, "gemini")
        if refused is not None:
            return refused
        prompt = " ".join(p.get("text", "") for p in body["contents"][-1]["parts"])
        tokens = words(prompt)
        return web.json_response(
            {
                "candidates": [{"content": {"role": "model", "parts": [
                    {"text": "here it is"},
                    {"inlineData": {"mimeType": "image/png", "data": IMAGE}},
                ]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": tokens, "candidatesTokenCount": 2},
            }
        )  # fmt: skip


def register(app: web.Application, fake: FakeOpenAI) -> Media:
    """Add the media routes (before the generic Gemini route, which they refine)."""
    media = Media(fake)
    app.router.add_post("/v1/embeddings", media.embeddings)
    app.router.add_post("/v1/completions", media.completions)
    app.router.add_post("/v1/moderations", media.moderations)
    app.router.add_post("/v1/images/generations", media.images)
    app.router.add_post("/v1/images/edits", media.images)
    app.router.add_post("/v1/audio/transcriptions", media.audio)
    app.router.add_post("/v1/audio/translations", media.audio)
    app.router.add_post("/v1/audio/speech", media.speech)
    app.router.add_post("/v1/rerank", media.rerank)
    app.router.add_post("/v1/videos", media.create_video)
    app.router.add_get("/v1/videos/{video_id}", media.get_video)
    app.router.add_get("/v1/videos/{video_id}/content", media.video_content)
    for method in ("embedContent", "batchEmbedContents"):
        app.router.add_post(r"/v1beta/models/{target:[^/]+:" + method + "}", media.gemini_embed)
    app.router.add_post(r"/v1beta/models/{target:img-[^/]*:generateContent}", media.gemini_image)
    return media
