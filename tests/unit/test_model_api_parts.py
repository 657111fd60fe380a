"""The pure parts of the model API: the multipart codec (cut anywhere), pricing by image and by
second, endpoint declarations, usage read from each answer shape, and the media echo makes."""

from __future__ import annotations

import asyncio
import io
import struct
import wave
from decimal import Decimal

import pytest

from patchbay.accounting.pricing import Pricing, cost, points
from patchbay.catalog.endpoints import ENDPOINTS, parse_endpoints, served
from patchbay.catalog.entries import ModelEntry, ProviderEntry, RouteEntry
from patchbay.domain.usage import Usage
from patchbay.errors import InvalidRequest
from patchbay.providers.endpoints import echo, media
from patchbay.providers.endpoints.base import EndpointRequest
from patchbay.providers.endpoints.metering import usage_of
from patchbay.providers.endpoints.multipart import (
    FilePart,
    Form,
    FormError,
    FormParser,
    encode_form,
)

BODY = (
    b"preamble\r\n--XyZ\r\n"
    b'Content-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="image[]"; filename="a \\"b\\".png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
    b"\x89PNG\r\n--XyNOT a boundary\r\n\r\n\x00\x01\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="include[]"\r\n\r\nlogprobs\r\n'
    b"--XyZ--\r\nepilogue"
)


def parse(chunks: list[bytes]) -> Form:
    parser, form, current = FormParser(b"XyZ"), Form(), None
    for chunk in chunks:
        for kind, value in parser.feed(chunk):
            if kind == "field":
                form.fields.append(value)
            elif kind == "file":
                current = value
                form.files.append(value)
            elif kind == "data":
                assert current is not None
                current.write(value)
    parser.finish()
    return form


@pytest.mark.parametrize("cut", range(1, len(BODY)))
def test_multipart_parses_the_same_wherever_the_body_is_cut(cut: int) -> None:
    form = parse([BODY[:cut], BODY[cut:]])
    assert form.fields == [("model", "whisper-1"), ("include[]", "logprobs")]
    assert form.values() == {"model": "whisper-1", "include": ["logprobs"]}
    (upload,) = form.files
    assert (upload.name, upload.filename, upload.content_type) == (
        "image[]",
        'a "b".png',
        "image/png",
    )
    assert upload.read_all(1000) == b"\x89PNG\r\n--XyNOT a boundary\r\n\r\n\x00\x01"


def test_multipart_one_byte_at_a_time_and_truncation() -> None:
    form = parse([bytes([b]) for b in BODY])
    assert form.files[0].size == len(b"\x89PNG\r\n--XyNOT a boundary\r\n\r\n\x00\x01")
    with pytest.raises(FormError):
        parse([BODY[:60]])


def test_encode_form_round_trips_with_its_exact_length() -> None:
    upload = FilePart("file", "speech.wav", "audio/wav")
    upload.write(b"RIFF" + bytes(range(256)) * 300)
    content_type, length, chunks = encode_form([("model", "m"), ("prompt", 'say "hi"')], [upload])

    async def read() -> bytes:
        return b"".join([chunk async for chunk in chunks])

    body = asyncio.run(read())
    assert len(body) == length
    boundary = content_type.split("boundary=")[1].encode()
    parser, events = FormParser(boundary), []
    events = parser.feed(body)
    parser.finish()
    assert [e for e in events if e[0] == "field"] == [
        ("field", ("model", "m")),
        ("field", ("prompt", 'say "hi"')),
    ]
    assert b"".join(e[1] for e in events if e[0] == "data") == upload.read_all(10**6)


def test_a_large_upload_spools_to_disk_and_streams_back_whole() -> None:
    upload = FilePart("file", "big.bin", "application/octet-stream")
    block = bytes(range(256)) * 4096  # 1 MiB
    for _ in range(3):
        upload.write(block)
    assert upload.spool._rolled  # type: ignore[attr-defined]  # past SPOOL_BYTES: on disk
    _, length, chunks = encode_form([], [upload])

    async def sizes() -> list[int]:
        return [len(chunk) async for chunk in chunks]

    read = asyncio.run(sizes())
    assert sum(read) == length and max(read) <= 1 << 16  # a block at a time
    upload.close()


def test_prices_per_image_and_per_second() -> None:
    pricing = Pricing.parse({"image": "0.0004", "second": "0.001", "request": "0.0001"})
    breakdown = cost(Usage(images=2, seconds=8), pricing)
    assert breakdown.cost_usd == Decimal("0.0089")
    assert breakdown.tokens == {"images": 2, "seconds": 8}
    assert breakdown.prices == {"images": "0.0004", "seconds": "0.001", "request": "0.0001"}
    assert points(breakdown.cost_usd, 100000) == 890
    assert not Pricing.parse({"second": "0.01"}).is_free
    assert Pricing.parse({"second": "0.01"}).to_json()["second"] == "0.01"


def _model(kind: str, **details: object) -> ModelEntry:
    route = RouteEntry(ProviderEntry("p", kind, None), "m")
    return ModelEntry("x", "o", 0, (route,), details=dict(details))


def test_endpoint_declarations() -> None:
    assert parse_endpoints(["rerank", "chat", "rerank"]) == ["rerank", "chat"]
    assert parse_endpoints(None) is None
    for bad in ([], "chat", ["chat", "fax"]):
        with pytest.raises(InvalidRequest):
            parse_endpoints(bad)
    assert served(_model("openai")) == ("chat",)
    assert served(_model("echo")) == ENDPOINTS
    assert served(_model("openai", endpoints=["embeddings"])) == ("embeddings",)


def _request(endpoint: str, **body: object) -> EndpointRequest:
    return EndpointRequest(endpoint, "/x", "m", dict(body))


def test_usage_read_from_each_answer_shape() -> None:
    embeddings = usage_of(
        _request("embeddings", input="a b"), {"usage": {"prompt_tokens": 9}}, None
    )
    assert embeddings == Usage(input_tokens=9)
    counted = usage_of(_request("embeddings", input=["hello", [1, 2, 3]]), {"data": []}, None)
    assert counted.estimated and counted.input_tokens == 1 + 3
    images = usage_of(_request("images"), {"data": [{}, {}, {}]}, None)
    assert images.images == 3
    duration = usage_of(
        _request("transcriptions"), {"usage": {"type": "duration", "seconds": 2.1}}, None
    )
    assert duration.seconds == 3
    tokens = usage_of(
        _request("transcriptions"),
        {"usage": {"type": "tokens", "input_tokens": 4, "output_tokens": 2}},
        None,
    )
    assert (tokens.input_tokens, tokens.output_tokens) == (4, 2)
    srt = b"1\n00:00:00,000 --> 00:00:01,000\na\n\n2\n00:01:02,500 --> 00:01:04,200\nb\n"
    assert usage_of(_request("translations"), None, srt).seconds == 65
    assert usage_of(
        _request("rerank", query="q", documents=["a", {"text": "b c"}]), {}, None
    ).estimated


def test_echo_media_are_valid() -> None:
    audio = media.wav(1.5, "hello")
    with wave.open(io.BytesIO(audio)) as w:
        assert w.getnframes() == 12000 and w.getframerate() == media.WAV_RATE
    assert media.wav_seconds(audio[:64], len(audio)) == 1.5 and media.wav_text(audio) == "hello"
    assert media.png_size(media.png(7, 3, (1, 2, 3))) == (7, 3)
    mp4 = media.mp4(3, (10, 200, 30))
    tops = dict(media.boxes(mp4))
    assert list(tops) == [b"ftyp", b"moov", b"mdat"] and tops[b"ftyp"][:4] == b"isom"
    mdat = tops[b"mdat"]
    frames, at = [], 0
    while at < len(mdat):
        (size,) = struct.unpack(">I", mdat[at : at + 4])
        frames.append(mdat[at + 4 : at + 4 + size])
        at += 4 + size
    assert len(frames) == 3 and {f[0] for f in frames} == {0x65}  # IDR slices
    offset = mp4.index(b"stco") + 12
    (chunk_offset,) = struct.unpack(">I", mp4[offset : offset + 4])
    assert mp4[chunk_offset : chunk_offset + 4] == struct.pack(">I", len(frames[0]))


def test_echo_embeddings_are_deterministic_unit_vectors() -> None:
    a, b = echo.vector("text", 32), echo.vector("text", 32)
    assert a == b and a != echo.vector("other", 32)
    assert abs(sum(v * v for v in a) - 1) < 1e-4
