"""Shared pieces of the model-API tests: the gateway's catalog over the fake upstream, fresh
accounts, the charges they got, and one call per endpoint through the official SDK."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import openai

from tests.fake_media import make_wav
from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess

# points_per_usd = 100000: a prompt token costs 1 point, a completion token 2, an image 40, a
# second of audio 10, a second of video 100, a moderation 5, an image or speech call 10
CONFIG = """
[server]
max_body_bytes = 1048576

[[providers]]
name = "nowhere"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-nowhere"

[[providers]]
name = "up"
kind = "openai"
base_url = "{base}"
api_key = "{key}"
timeout_s = 10

[[providers]]
name = "gem"
kind = "gemini"
base_url = "{root}"
api_key = "{key}"
timeout_s = 10

[[models]]
id = "emb"
endpoints = ["embeddings"]
pricing = {{ prompt = "0.00001" }}
routes = [
  {{ provider = "nowhere", model = "x", weight = 1000000 }},
  {{ provider = "up", model = "text-embedding-up", weight = 1 }},
]

[[models]]
id = "cmpl"
endpoints = ["completions"]
pricing = {{ prompt = "0.00001", completion = "0.00002" }}
routes = [ {{ provider = "up", model = "davinci-up" }} ]

[[models]]
id = "mod"
endpoints = ["moderations"]
pricing = {{ request = "0.00005" }}
routes = [ {{ provider = "up", model = "omni-up" }} ]

[[models]]
id = "img"
endpoints = ["images"]
pricing = {{ image = "0.0004", request = "0.0001" }}
routes = [ {{ provider = "up", model = "gpt-image-up" }} ]

[[models]]
id = "stt"
endpoints = ["transcriptions", "translations"]
pricing = {{ second = "0.0001" }}
routes = [ {{ provider = "up", model = "whisper-up" }} ]

[[models]]
id = "tts"
endpoints = ["speech"]
pricing = {{ prompt = "0.00001", request = "0.0001" }}
routes = [ {{ provider = "up", model = "tts-up" }} ]

[[models]]
id = "rr"
endpoints = ["rerank"]
pricing = {{ prompt = "0.00001" }}
routes = [ {{ provider = "up", model = "rerank-up" }} ]

[[models]]
id = "vid"
endpoints = ["videos"]
pricing = {{ second = "0.001" }}
routes = [ {{ provider = "up", model = "sora-up" }} ]

[[models]]
id = "gem-emb"
endpoints = ["embeddings"]
pricing = {{ prompt = "0.00001" }}
routes = [ {{ provider = "gem", model = "gemini-embedding-up" }} ]

[[models]]
id = "gem-img"
endpoints = ["images"]
pricing = {{ image = "0.0004" }}
routes = [ {{ provider = "gem", model = "img-nano" }} ]
"""

WAV = make_wav(2.5)  # 2.5 s: charged as 3 started seconds


def config(fake: FakeOpenAI) -> str:
    return CONFIG.format(base=fake.base_url, root=fake.root_url, key=fake.api_key)


def new_key(gateway: GatewayProcess, points: int = 1_000_000, **key: Any) -> str:
    with gateway.admin() as admin:
        name = f"acct-{time.monotonic_ns()}"
        account = admin.post("/admin/accounts", json={"name": name, "points": points}).json()
        created = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "k", "rpm": 10000, **key}
        )
        created.raise_for_status()
        return str(created.json()["key"])


def history(gateway: GatewayProcess, key: str, count: int, timeout: float = 10) -> list[dict]:
    """The key's account's usage entries, newest first, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    entries: list[dict] = []
    while time.monotonic() < deadline:
        response = httpx.get(
            gateway.url + "/usage/points_history",
            params={"limit": 100},
            headers={"authorization": f"Bearer {key}"},
        )
        entries = response.json()["data"]
        if len(entries) >= count:
            return entries
        time.sleep(0.1)
    raise AssertionError(f"expected {count} usage entries, found {entries}")


def balance(gateway: GatewayProcess, key: str) -> int:
    response = httpx.get(
        gateway.url + "/usage/current_balance", headers={"authorization": f"Bearer {key}"}
    )
    return int(response.json()["current_point_balance"])


def client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)


def rerank(gateway: GatewayProcess, key: str | None, model: str, **body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    payload = {"model": model, "query": "red apple", "documents": ["a red apple", "a pear"], **body}
    return httpx.post(gateway.openai_base + "/rerank", json=payload, headers=headers, timeout=30)


def _speech(c: openai.OpenAI, model: str) -> bytes:
    with c.audio.speech.with_streaming_response.create(
        model=model, voice="alloy", input="hello there friend", response_format="wav"
    ) as response:
        return response.read()


# endpoint → (a model that serves it, one call of it with the SDK)
CALLS: dict[str, tuple[str, Callable[[openai.OpenAI, str], Any]]] = {
    "embeddings": ("emb", lambda c, m: c.embeddings.create(model=m, input="hi")),
    "completions": ("cmpl", lambda c, m: c.completions.create(model=m, prompt="hi")),
    "moderations": ("mod", lambda c, m: c.moderations.create(model=m, input="hi")),
    "images.generate": ("img", lambda c, m: c.images.generate(model=m, prompt="a cat")),
    "images.edit": (
        "img",
        lambda c, m: c.images.edit(model=m, prompt="x", image=("a.png", b"\x89PNG", "image/png")),
    ),
    "transcriptions": (
        "stt",
        lambda c, m: c.audio.transcriptions.create(model=m, file=("a.wav", WAV, "audio/wav")),
    ),
    "translations": (
        "stt",
        lambda c, m: c.audio.translations.create(model=m, file=("a.wav", WAV, "audio/wav")),
    ),
    "speech": ("tts", _speech),
    "videos": ("vid", lambda c, m: c.videos.create(model=m, prompt="a dog")),
}
PATHS = {
    "embeddings": "/embeddings",
    "completions": "/completions",
    "moderations": "/moderations",
    "images.generate": "/images/generations",
    "images.edit": "/images/edits",
    "transcriptions": "/audio/transcriptions",
    "translations": "/audio/translations",
    "speech": "/audio/speech",
    "videos": "/videos",
    "rerank": "/rerank",
}
