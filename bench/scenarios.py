"""What the harness measures: one ``Scenario`` per call shape (client protocol, streamed or
not, same protocol or translated), each sent by wrk at a fixed concurrency to every target
that can serve it.

The bodies are what an agent sends, kept small so the gateway's own work shows: Chat asks for
usage in its streams (``stream_options.include_usage``), Responses sends ``store: false`` (as
Codex does), Anthropic Messages gives ``max_tokens``, Gemini streams with ``alt=sse``."""

from __future__ import annotations

import json
from dataclasses import dataclass

PROMPT = "Say hello to the bench."
KINDS = ("nginx", "passthrough", "patchbay", "litellm")
PROTOCOL_NAMES = {
    "chat": "Chat Completions",
    "responses": "Responses",
    "anthropic": "Anthropic Messages",
    "gemini": "Gemini",
}
UPSTREAM_NAMES = {"chat": "openai", "responses": "openai-responses", "anthropic": "anthropic"}


@dataclass(frozen=True)
class Scenario:
    name: str
    protocol: str  # the client's: chat | responses | anthropic | gemini
    stream: bool
    model: str  # the model id Patchbay and LiteLLM are configured with
    upstream: str  # the upstream protocol the model is routed to
    connections: int = 16
    litellm: bool = True  # LiteLLM is tried on it (reported n/a when it cannot serve it)
    extra: bool = False  # not one of the scenarios (kept because it is cheap)

    @property
    def translated(self) -> bool:
        return self.protocol != self.upstream

    @property
    def floor(self) -> str:
        """The scenario whose passthrough run is this one's floor: the client protocol's same
        body, streamed or not (a translated call is compared with the passthrough forwarding
        what its client sent)."""
        if not self.translated:
            return self.name
        for other in SCENARIOS:
            if (
                not other.translated
                and other.protocol == self.protocol
                and other.stream == self.stream
                and other.connections == self.connections
            ):
                return other.name
        raise LookupError(self.name)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of target that run it: the passthrough only where the call is the
        upstream's own protocol, nginx (the ceiling) there too but for the extra scenarios."""
        own = (
            () if self.translated else ("passthrough",) if self.extra else ("nginx", "passthrough")
        )
        return (*own, "patchbay", *(("litellm",) if self.litellm else ()))

    def title(self) -> str:
        client = PROTOCOL_NAMES[self.protocol]
        how = "streamed" if self.stream else "whole"
        upstream = UPSTREAM_NAMES.get(self.upstream, self.upstream)
        return f"{client} → {upstream}, {how}, c={self.connections}"

    def short(self) -> str:
        """The call in a few words: the client protocol, streamed or not, translated to what."""
        how = "stream" if self.stream else "whole"
        name = f"{PROTOCOL_NAMES[self.protocol]} {how}"
        if self.translated:
            name += f" on an {UPSTREAM_NAMES.get(self.upstream, self.upstream)} upstream"
        return name + (f", c={self.connections}" if self.connections != 16 else "")

    def path(self, kind: str) -> str:
        """The request path for a kind of target (nginx is asked on the upstream's path)."""
        if kind == "nginx":
            return upstream_path(self.protocol, self.stream)
        if self.protocol == "gemini":
            method = "streamGenerateContent?alt=sse" if self.stream else "generateContent"
            return f"/v1beta/models/{self.model}:{method}"
        return CLIENT_PATHS[self.protocol]

    def body(self) -> str:
        return json.dumps(request_body(self.protocol, self.model, self.stream))


CLIENT_PATHS = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "anthropic": "/v1/messages",
}


def upstream_path(protocol: str, stream: bool) -> str:
    """Where nginx serves each protocol's fixed answer (bench/upstream/bodies.py)."""
    if protocol == "gemini":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"/v1beta/models/bench-upstream:{method}"
    return ("/sse" if stream else "") + CLIENT_PATHS[protocol]


def request_body(protocol: str, model: str, stream: bool) -> dict[str, object]:
    user = {"role": "user", "content": PROMPT}
    if protocol == "chat":
        body: dict[str, object] = {"model": model, "messages": [user], "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body
    if protocol == "responses":
        return {"model": model, "input": PROMPT, "store": False, "stream": stream}
    if protocol == "anthropic":
        return {"model": model, "max_tokens": 64, "messages": [user], "stream": stream}
    return {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}


S = Scenario
SCENARIOS: tuple[Scenario, ...] = (
    S("chat-c1", "chat", False, "bench-model", "chat", connections=1),
    S("chat", "chat", False, "bench-model", "chat"),
    S("chat-c64", "chat", False, "bench-model", "chat", connections=64),
    S("chat-stream", "chat", True, "bench-stream", "chat"),
    S("anthropic-stream", "anthropic", True, "bench-anthropic-stream", "anthropic"),
    S("responses-stream", "responses", True, "bench-responses-stream", "responses"),
    S("gemini-stream", "gemini", True, "bench-gemini", "gemini"),
    S("anthropic-on-openai-stream", "anthropic", True, "bench-a2o-stream", "chat"),
    S("responses-on-anthropic-stream", "responses", True, "bench-r2a-stream", "anthropic"),
    S("anthropic", "anthropic", False, "bench-anthropic", "anthropic", litellm=False, extra=True),
    S("responses", "responses", False, "bench-responses", "responses", litellm=False, extra=True),
    S("gemini", "gemini", False, "bench-gemini", "gemini", litellm=False, extra=True),
    S("anthropic-on-openai", "anthropic", False, "bench-a2o", "chat", litellm=False, extra=True),
    S(
        "responses-on-anthropic",
        "responses",
        False,
        "bench-r2a",
        "anthropic",
        litellm=False,
        extra=True,
    ),
    S(
        "chat-on-anthropic",
        "chat",
        False,
        "bench-translated",
        "anthropic",
        litellm=False,
        extra=True,
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}
# the targets, by scenario: the least Patchbay (1 worker) / floor throughput ratio
RATIO_TARGETS = {
    "chat": 0.85,
    "chat-stream": 0.8,
    "anthropic-stream": 0.75,
    "responses-stream": 0.75,
    "gemini-stream": 0.75,
    "anthropic-on-openai-stream": 0.6,
    "responses-on-anthropic-stream": 0.6,
}
# streamed, one at a time: time to first byte per client protocol
TTFB = ("chat-stream", "anthropic-stream", "responses-stream", "gemini-stream")
# profiled with py-spy on Patchbay's one worker
PROFILED = (
    "chat",
    "chat-stream",
    "anthropic-stream",
    "responses-stream",
    "anthropic-on-openai-stream",
)


def headers(key: str) -> dict[str, str]:
    """What the asyncio clients send (the wrk script sends the same)."""
    out = {"content-type": "application/json"}
    if key:
        out |= {
            "authorization": f"Bearer {key}",
            "x-api-key": key,
            "anthropic-version": "2023-06-01",
        }
    return out
