"""A fresh install, no upstream key: the built-in ``echo`` model serves every endpoint with the
official SDK, deterministically, with valid media (PNG, WAV, MP4) and exact, free usage."""

from __future__ import annotations

import base64
import io
import math
import struct
import wave
import zlib
from collections.abc import Iterator

import httpx
import pytest

from patchbay.providers.endpoints.media import boxes
from tests.integration.model_api_support import client, history
from tests.servers import GatewayProcess, start_gateway

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's Sora notice


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gateway = start_gateway(tmp_path_factory.mktemp("echo-tour"))
    yield gateway
    gateway.stop()


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, size = 8, b"", (0, 0)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def test_every_endpoint_on_echo(fresh: GatewayProcess) -> None:
    key = fresh.admin_key
    c = client(fresh, key)
    one = c.embeddings.create(
        model="echo", input=["same text", "other text"], encoding_format="float"
    )
    again = c.embeddings.create(model="echo", input="same text")  # base64, the SDK's default
    first = one.data[0].embedding
    assert again.data[0].embedding == pytest.approx(first, abs=1e-6)
    assert first != one.data[1].embedding and len(first) == 64
    assert math.isclose(sum(v * v for v in first), 1.0, rel_tol=1e-4)
    assert one.usage.prompt_tokens > 0
    done = c.completions.create(model="echo", prompt="say these words back", max_tokens=2)
    assert done.choices[0].finish_reason == "length" and done.usage.completion_tokens == 2  # type: ignore[union-attr]
    streamed = list(c.completions.create(model="echo", prompt="say these words back", stream=True))
    assert "".join(x.choices[0].text for x in streamed if x.choices) == "say these words back"
    assert not c.moderations.create(model="echo", input="anything").results[0].flagged
    picture = c.images.generate(model="echo", prompt="a cat", n=2).data or []
    width, height, raw = png_pixels(base64.b64decode(picture[0].b64_json or ""))
    assert (width, height, len(picture)) == (16, 16, 2) and len(raw) == 16 * (1 + 16 * 3)
    edited = c.images.edit(
        model="echo",
        prompt="a cat",
        image=("a.png", base64.b64decode(picture[0].b64_json or ""), "image/png"),
    )
    assert png_pixels(base64.b64decode((edited.data or [])[0].b64_json or ""))[:2] == (16, 16)
    with c.audio.speech.with_streaming_response.create(
        model="echo", voice="alloy", input="the quick brown fox", response_format="wav"
    ) as response:
        audio = response.read()
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.getnframes() == int(0.06 * len("the quick brown fox") * 8000)
    heard = c.audio.transcriptions.create(model="echo", file=("fox.wav", audio, "audio/wav"))
    assert heard.text == "the quick brown fox"  # the text the echo WAV carries
    srt = c.audio.translations.create(
        model="echo", file=("fox.wav", audio, "audio/wav"), response_format="srt"
    )
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,140\nthe quick brown fox")
    ranked = httpx.post(
        fresh.openai_base + "/rerank",
        headers={"authorization": f"Bearer {key}"},
        json={
            "model": "echo",
            "query": "red apple pie",
            "documents": ["green pear", "apple pie", "red apple pie"],
            "return_documents": True,
        },
    ).json()
    assert [(r["index"], r["relevance_score"]) for r in ranked["results"]] == [
        (2, 1.0),
        (1, 0.666667),
        (0, 0.0),
    ]
    assert ranked["results"][0]["document"] == {"text": "red apple pie"}
    video = c.videos.create(model="echo", prompt="a sunrise", seconds="4")
    assert c.videos.retrieve(video.id).status == "completed"
    mp4 = c.videos.download_content(video.id).read()
    kinds = [kind for kind, _ in boxes(mp4)]
    assert kinds == [b"ftyp", b"moov", b"mdat"] and b"avc1" in mp4 and b"avcC" in mp4
    entries = history(fresh, key, 12)
    assert {e["bot"] for e in entries} == {"echo"} and {e["cost_points"] for e in entries} == {0}
