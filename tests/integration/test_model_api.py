"""The whole model API with the official ``openai`` SDK against the real server and a real
loopback upstream: every endpoint answers in OpenAI's shape, reaches the upstream as sent
(only the model rewritten), is charged once at the model's prices, and is refused (401, 404,
403, 402, 400) without reaching the upstream when it should be."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from patchbay.accounting.tokens import count_text
from tests.fake_media import PNG
from tests.fake_openai import FakeOpenAI
from tests.integration.model_api_support import (
    CALLS,
    PATHS,
    WAV,
    client,
    config,
    history,
    new_key,
    rerank,
)
from tests.servers import GatewayProcess, start_gateway


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    gateway = start_gateway(tmp_path_factory.mktemp("model-api"), config=config(fake_openai))
    yield gateway
    gateway.stop()


def bodies(fake: FakeOpenAI, path: str) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path == path]


def test_embeddings_float_and_base64_fail_over_and_are_charged(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    c = client(api, key)
    floats = c.embeddings.create(
        model="emb", input=["hello big world", "second one"], encoding_format="float"
    )
    default = c.embeddings.create(model="emb", input="hello big world")  # the SDK asks base64
    assert floats.model == "emb" and [d.index for d in floats.data] == [0, 1]
    assert floats.data[0].embedding == [round(0.1 + i * 0.01, 4) for i in range(8)]
    assert default.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    assert floats.usage.prompt_tokens == 5 and floats.usage.cost_points == 5  # type: ignore[attr-defined]
    sent = bodies(fake_openai, "/v1/embeddings")
    assert [b["encoding_format"] for b in sent] == ["float", "base64"]
    assert {b["model"] for b in sent} == {"text-embedding-up"}
    assert len(fake_openai.requests) == 2  # the refused first route was failed over, unseen
    with api.admin() as admin:
        routes = admin.get("/admin/routes").json()["data"]
    health = {r["provider"]: r for r in routes if r["model"] == "emb"}
    assert health["nowhere"]["failures"] >= 1 and health["up"]["failures"] == 0  # one breaker
    entries = history(api, key, 2)
    assert [e["cost_points"] for e in entries] == [3, 5]
    assert entries[1]["bot"] == "emb" and entries[1]["cost_breakdown"]["tokens"] == {"prompt": 5}


def test_completions_whole_and_streamed_ask_for_usage(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    c = client(api, key)
    whole = c.completions.create(model="cmpl", prompt="tell me a story")
    assert whole.choices[0].text == "fake completion of tell me a story"
    assert whole.model == "cmpl" and whole.usage.cost_points == 4 + 2 * 7  # type: ignore[union-attr]
    quiet = list(c.completions.create(model="cmpl", prompt="tell me a story", stream=True))
    assert "".join(x.choices[0].text for x in quiet if x.choices) == whole.choices[0].text
    assert all(x.usage is None for x in quiet)  # not asked for: not given
    told = list(
        c.completions.create(
            model="cmpl",
            prompt="tell me a story",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert told[-1].usage.cost_points == 18 and told[-1].model == "cmpl"  # type: ignore[union-attr]
    sent = bodies(fake_openai, "/v1/completions")
    assert [b.get("stream_options") for b in sent] == [None] + [{"include_usage": True}] * 2
    assert [e["cost_points"] for e in history(api, key, 3)] == [18, 18, 18]


def test_moderations_images_and_rerank_are_charged_by_request_image_and_token(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    c = client(api, key)
    moderation = c.moderations.create(model="mod", input=["ok", "attack now"])
    assert [r.flagged for r in moderation.results] == [False, True] and moderation.model == "mod"
    images = c.images.generate(model="img", prompt="a red cat", n=2)
    assert [base64.b64decode(i.b64_json or "") for i in images.data or []] == [PNG, PNG]
    assert images.usage.cost_points == 2 * 40 + 10  # type: ignore[union-attr]
    edit = c.images.edit(
        model="img",
        prompt="make it blue",
        image=[("a.png", PNG, "image/png"), ("b.png", PNG, "image/png")],
        mask=("m.png", PNG, "image/png"),
    )
    assert len(edit.data or []) == 1
    uploaded = bodies(fake_openai, "/v1/images/edits")[0]
    assert uploaded["model"] == "gpt-image-up" and uploaded["prompt"] == "make it blue"
    assert [(f["name"], f["filename"], f["data"]) for f in uploaded["_files"]] == [
        ("image[]", "a.png", PNG),
        ("image[]", "b.png", PNG),
        ("mask", "m.png", PNG),
    ]
    ranked = rerank(api, key, "rr", top_n=1)
    assert ranked.status_code == 200, ranked.text
    assert ranked.json()["results"] == [{"index": 0, "relevance_score": 1.0}]
    assert ranked.json()["usage"]["cost_points"] == 2 + 5
    assert bodies(fake_openai, "/v1/rerank")[0]["model"] == "rerank-up"
    entries = history(api, key, 4)
    assert [(e["bot"], e["cost_points"]) for e in entries] == [
        ("rr", 7),
        ("img", 50),
        ("img", 90),
        ("mod", 5),
    ]
    assert entries[2]["cost_breakdown"]["tokens"]["images"] == 2


def test_audio_every_format_charged_by_the_second(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    c = client(api, key)
    upload = ("a.wav", WAV, "audio/wav")
    json_answer = c.audio.transcriptions.create(model="stt", file=upload)
    assert json_answer.text == f"heard {len(WAV)} bytes"
    assert json_answer.usage.cost_points == 30  # type: ignore[union-attr]  # 2.5 s → 3 s
    text = c.audio.transcriptions.create(model="stt", file=upload, response_format="text")
    assert text == f"heard {len(WAV)} bytes"
    srt = c.audio.transcriptions.create(model="stt", file=upload, response_format="srt")
    assert "00:00:02,500" in srt
    verbose = c.audio.translations.create(model="stt", file=upload, response_format="verbose_json")
    assert verbose.duration == 2.5  # type: ignore[union-attr]
    sent = bodies(fake_openai, "/v1/audio/transcriptions")
    assert [f["data"] for b in sent for f in b["_files"]] == [WAV] * 3
    assert {b["model"] for b in sent} == {"whisper-up"}
    audio = b""
    with c.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="hello there friend", response_format="wav"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        for chunk in response.iter_bytes():
            audio += chunk
    assert audio[:4] == b"RIFF" and len(audio) == 44 + 8000  # the fake's 0.5 s WAV, whole
    entries = history(api, key, 5)
    spoken = count_text("hello there friend") + 10
    assert [e["cost_points"] for e in entries] == [spoken, 30, 30, 30, 30]
    assert entries[3]["cost_breakdown"]["estimated"] is True  # text: seconds from the WAV header
    assert entries[1]["cost_breakdown"]["tokens"] == {"seconds": 3}


def test_an_image_stream_is_relayed_and_charged_per_completed_image(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    events = list(
        client(api, key).images.generate(
            model="img", prompt="a slow red cat", stream=True, partial_images=1
        )
    )
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert base64.b64decode(events[-1].b64_json) == PNG  # type: ignore[union-attr]
    assert bodies(fake_openai, "/v1/images/generations")[0]["stream"] is True
    entry = history(api, key, 1)[0]
    assert entry["cost_points"] == 40 + 10  # one image, one request
    assert entry["cost_breakdown"]["tokens"] == {"prompt": 4, "completion": 3, "images": 1}


def test_speech_is_relayed_as_it_comes(api: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    fake_openai.faults.chunk_delay_s = 0.3  # the upstream speaks slowly
    arrivals: list[float] = []
    with client(api, new_key(api)).audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="slowly now", response_format="wav"
    ) as response:
        for _ in response.iter_bytes(1):
            arrivals.append(time.monotonic())
    assert len(arrivals) == 44 + 8000
    assert arrivals[-1] - arrivals[0] > 0.9  # the first bytes came long before the last


@pytest.mark.parametrize("endpoint", [*CALLS, "rerank"])
def test_refusals_never_reach_the_upstream(
    api: GatewayProcess, fake_openai: FakeOpenAI, endpoint: str
) -> None:
    model = CALLS[endpoint][0] if endpoint in CALLS else "rr"
    good, limited, empty = new_key(api), new_key(api, allowed_models=["other-*"]), new_key(api, 0)
    expected = [("pb-not-a-key", model, 401), (good, "no-such-model", 404), (limited, model, 403)]
    expected += [(empty, model, 402), (good, "emb" if model != "emb" else "cmpl", 400)]
    for key, asked, status in expected:
        if endpoint == "rerank":
            assert rerank(api, key, asked).status_code == status
            continue
        with pytest.raises(openai.APIStatusError) as refused:
            CALLS[endpoint][1](client(api, key), asked)
        assert refused.value.status_code == status, (key, asked, refused.value.body)
        assert isinstance(refused.value.body, dict) and "code" in refused.value.body
    missing = httpx.post(api.openai_base + PATHS[endpoint], json={"model": model})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert fake_openai.requests == []


def test_a_chat_call_on_a_model_without_chat_is_refused(api: GatewayProcess) -> None:
    c = client(api, new_key(api))
    with pytest.raises(openai.BadRequestError, match="does not serve the chat endpoint"):
        c.chat.completions.create(model="emb", messages=[{"role": "user", "content": "hi"}])


def test_an_upload_over_the_body_limit_gets_413(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    c = client(api, new_key(api))
    big = b"RIFF" + b"\x00" * (2 << 20)
    with pytest.raises(openai.APIStatusError) as refused:
        c.audio.transcriptions.create(model="stt", file=("big.wav", big, "audio/wav"))
    assert refused.value.status_code == 413
    chunked = httpx.post(
        api.openai_base + "/audio/transcriptions",
        headers={
            "authorization": f"Bearer {new_key(api)}",
            "content-type": "multipart/form-data; boundary=b",
        },
        content=iter(
            [b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nstt\r\n']
            + [b"x" * 65536] * 40
        ),  # fmt: skip
    )
    assert chunked.status_code == 413
    assert fake_openai.requests == []


def test_gemini_embeddings_both_ways(api: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    from google import genai
    from google.genai import types

    key = new_key(api)
    gemini = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=api.url))
    on_openai = gemini.models.embed_content(model="emb", contents=["hello big world", "second one"])
    assert [e.values for e in on_openai.embeddings or []] == [
        [round(0.1 + i * 0.01, 4) for i in range(8)],
        [round(0.2 + i * 0.01, 4) for i in range(8)],
    ]
    sent = bodies(fake_openai, "/v1/embeddings")
    assert sent == [
        {
            "model": "text-embedding-up",
            "input": ["hello big world", "second one"],
            "encoding_format": "float",
        }
    ]
    c = client(api, key)
    floats = c.embeddings.create(model="gem-emb", input=["one", "two"], encoding_format="float")
    packed = c.embeddings.create(model="gem-emb", input="one")
    assert floats.data[1].embedding == [round(1.0 + i * 0.001, 4) for i in range(6)]
    assert packed.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    native = gemini.models.embed_content(
        model="gem-emb", contents="hello", config=types.EmbedContentConfig(output_dimensionality=3)
    )
    assert native.embeddings[0].values == [0.5, 0.501, 0.502]  # type: ignore[index]
    batches = [r.body for r in fake_openai.requests if r.path.endswith(":batchEmbedContents")]
    assert [r["model"] for b in batches for r in b["requests"]] == [
        "models/gemini-embedding-up"
    ] * 4
    assert batches[-1]["requests"][0]["outputDimensionality"] == 3
    entries = history(api, key, 4)
    assert entries[0]["bot"] == "gem-emb" and entries[0]["cost_breakdown"]["estimated"] is True
    assert entries[-1]["cost_points"] == 5  # the OpenAI upstream's own usage


def test_upstream_refusals_reach_each_client_as_its_protocol_shows_them(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    fake_openai.faults.status, fake_openai.faults.message = 400, "input is too long for us"
    with pytest.raises(openai.BadRequestError) as refused:
        client(api, key).embeddings.create(model="emb", input="x")
    assert refused.value.body == {  # as the upstream sent it
        "message": "input is too long for us",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    gemini = httpx.post(
        api.url + "/v1beta/models/emb:embedContent",
        params={"key": key},
        json={"content": {"parts": [{"text": "x"}]}},
    )
    assert gemini.status_code == 400
    assert gemini.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "input is too long for us" in gemini.json()["error"]["message"]
    fake_openai.faults.status = 503
    with pytest.raises(openai.APIStatusError) as failed:
        client(api, key).moderations.create(model="mod", input="x")
    assert failed.value.status_code == 502 and "upstream" in failed.value.message
    time.sleep(0.5)
    assert history(api, key, 0) == []  # nothing answered: nothing charged


def test_images_from_a_gemini_upstream_inline_parts(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    images = client(api, key).images.generate(model="gem-img", prompt="a small blue cat")
    assert [base64.b64decode(i.b64_json or "") for i in images.data or []] == [PNG]
    assert images.usage.cost_points == 40  # type: ignore[union-attr]
    sent = [r.body for r in fake_openai.requests if r.path.endswith(":generateContent")]
    assert sent[0]["contents"][0]["parts"] == [{"text": "a small blue cat"}]
    assert "IMAGE" in sent[0]["generationConfig"]["responseModalities"]
    assert history(api, key, 1)[0]["cost_breakdown"]["tokens"]["images"] == 1


def test_a_gemini_client_gets_inline_images_from_an_image_model(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    from google import genai
    from google.genai import types

    key = new_key(api)
    gemini = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=api.url))
    made = gemini.models.generate_content(
        model="img",
        contents="a red cat",
        config=types.GenerateContentConfig(response_modalities=["IMAGE"], candidate_count=2),
    )
    parts = made.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert [(p.inline_data.mime_type, p.inline_data.data) for p in parts] == [  # type: ignore[union-attr]
        ("image/png", PNG),
        ("image/png", PNG),
    ]
    assert made.usage_metadata.prompt_token_count == 3  # type: ignore[union-attr]
    assert bodies(fake_openai, "/v1/images/generations")[0] == {
        "model": "gpt-image-up",
        "prompt": "a red cat",
        "n": 2,
    }
    edited = list(
        gemini.models.generate_content_stream(
            model="img",
            contents=[types.Part.from_bytes(data=PNG, mime_type="image/png"), "bluer"],
        )
    )
    assert edited[0].candidates[0].content.parts[0].inline_data.data == PNG  # type: ignore[index, union-attr]
    upload = bodies(fake_openai, "/v1/images/edits")[0]
    assert upload["prompt"] == "bluer" and upload["_files"][0]["data"] == PNG
    assert [e["cost_points"] for e in history(api, key, 2)] == [40 + 10, 2 * 40 + 10]


def test_models_list_their_endpoints(api: GatewayProcess) -> None:
    listed = {m["id"]: m for m in httpx.get(api.openai_base + "/models").json()["data"]}
    assert listed["emb"]["supported_endpoint_types"] == ["embeddings"]
    assert listed["stt"]["supported_endpoint_types"] == ["transcriptions", "translations"]
    assert "videos" in listed["echo"]["supported_endpoint_types"]
    gemini = httpx.get(api.url + "/v1beta/models", params={"key": new_key(api)}).json()["models"]
    methods = {m["name"]: m["supportedGenerationMethods"] for m in gemini}
    assert methods["models/gem-emb"] == ["embedContent", "batchEmbedContents"]
    with api.admin() as admin:
        bad = admin.post("/admin/models", json={"id": "bad", "endpoints": ["teleport"]})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "endpoints[0]"
        made = admin.post("/admin/models", json={"id": "e2", "endpoints": ["rerank"], "routes": []})
        assert made.status_code in (200, 201), made.text
        assert made.json()["endpoints"] == ["rerank"]


def test_files_and_fine_tuning_answer_501(api: GatewayProcess) -> None:
    c = client(api, new_key(api))
    with pytest.raises(openai.APIStatusError) as files:
        c.files.list()
    assert files.value.status_code == 501 and "not implemented" in files.value.message
    with pytest.raises(openai.APIStatusError) as jobs:
        c.fine_tuning.jobs.create(model="x", training_file="file-1")
    assert jobs.value.status_code == 501
