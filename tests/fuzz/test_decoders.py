"""Hypothesis properties of every protocol decoder and edge reader: any JSON value is either
a decoded request or ``RequestInvalid`` naming the param — never another exception.

Two kinds of input: arbitrary JSON bodies, and realistic requests of each protocol (every
construct its decoder maps) with up to three values anywhere inside replaced by arbitrary
JSON or removed, so the search reaches deep into messages, blocks, parts and tools. A decoded
request is then answered by the in-process ``echo`` kind, as the translated path would.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from patchbay.accounts.keystore import Principal
from patchbay.api import anthropic as anthropic_edge
from patchbay.api import chat as chat_edge
from patchbay.api import gemini as gemini_edge
from patchbay.api import responses as responses_edge
from patchbay.api.exchange import Exchange
from patchbay.domain.assemble import assemble
from patchbay.domain.requests import ChatRequest
from patchbay.protocols.anthropic_messages import decode as anthropic_decode
from patchbay.protocols.errors import RequestInvalid
from patchbay.protocols.gemini import decode as gemini_decode
from patchbay.protocols.openai_chat import decode as chat_decode
from patchbay.protocols.openai_chat.validate import validate_request
from patchbay.protocols.openai_responses import decode as responses_decode
from patchbay.providers import echo

EXAMPLES = int(os.environ.get("PATCHBAY_FUZZ_EXAMPLES", "1000"))
SEED = int(os.environ.get("PATCHBAY_FUZZ_SEED", "15"))  # fixed in the suite; vary to explore
IMAGE = "data:image/png;base64,iVBORw0KGgo="
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson reads
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "text", "role", "content", "name", "parts", "id"])
            | st.text(max_size=6),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)

CHAT = [
    {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "really"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA"}},
                ],
                "name": "ann",
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "hmm",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "custom", "custom": {"name": "g", "input": "x"}},
                ],
                "function_call": {"name": "f", "arguments": "{}"},
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
            {"role": "function", "name": "f", "content": "43"},
            {"role": "assistant", "content": "ok", "refusal": "no"},
            {"role": "user", "content": "again"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": SCHEMA, "strict": True}},
            {"type": "custom", "custom": {"name": "g", "format": {"type": "text"}}},
        ],
        "functions": [{"name": "h", "parameters": SCHEMA}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "function_call": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}},
        "web_search_options": {},
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
        "top_p": 1,
        "max_completion_tokens": 20,
        "stop": ["x", "y"],
        "reasoning_effort": "low",
        "parallel_tool_calls": False,
        "user": "u",
        "seed": 3,
    },
    {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
]
RESPONSES = [
    {
        "model": "m",
        "instructions": "be brief",
        "input": [
            {"role": "developer", "content": "lead"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": IMAGE, "detail": "auto"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,AA"},
                    {"type": "input_audio", "input_audio": {"data": "AA", "format": "mp3"}},
                ],
            },
            {"type": "reasoning", "id": "r1", "summary": [{"type": "summary_text", "text": "s"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "g", "input": "x"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {
                "type": "custom_tool_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "ok"}],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "done"}],
            },
            {"type": "item_reference", "id": "x"},
        ],
        "tools": [
            {"type": "function", "name": "f", "parameters": SCHEMA, "strict": True},
            {"type": "custom", "name": "g", "format": {"type": "grammar"}},
            {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "k"}]},
            {"type": "web_search"},
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": SCHEMA}},
        "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 30,
        "temperature": 1,
        "stream": False,
        "store": False,
        "parallel_tool_calls": True,
    },
    {"model": "m", "input": "hi", "tool_choice": "auto"},
]
ANTHROPIC = [
    {
        "model": "m",
        "max_tokens": 50,
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {"role": "system", "content": "lead"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                    {"type": "document", "source": {"type": "text", "data": "doc"}, "title": "t"},
                    {
                        "type": "document",
                        "source": {"type": "content", "content": [{"type": "text", "text": "c"}]},
                    },
                    {"type": "search_result", "content": [{"type": "text", "text": "r"}]},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "zz"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "42"}],
                        "is_error": False,
                    }
                ],
            },
        ],
        "tools": [
            {"name": "f", "description": "d", "input_schema": SCHEMA},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
            {"type": "bash_20250124", "name": "bash"},
        ],
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}},
        "stop_sequences": ["x"],
        "temperature": 0.2,
        "top_p": 0.9,
        "metadata": {"user_id": "u"},
        "stream": True,
    },
    {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
]
GEMINI = [
    {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "look"},
                    {"inlineData": {"mimeType": "image/png", "data": "AA"}},
                    {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://x"}},
                    {"inline_data": {"mime_type": "audio/wav", "data": "AA"}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "hmm", "thought": True, "thoughtSignature": "sig"},
                    {"functionCall": {"name": "f", "args": {"q": "x"}, "id": "c1"}},
                    {"function_call": {"name": "f", "args": {}}},
                    {"executableCode": {"language": "PYTHON", "code": "1"}},
                    {"codeExecutionResult": {"output": "1"}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "f", "response": {"content": "42"}, "id": "c1"}},
                    {"functionResponse": {"name": "f", "response": {"x": 1}}},
                ],
            },
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "tools": [
            {"functionDeclarations": [{"name": "f", "description": "d", "parameters": SCHEMA}]},
            {"googleSearch": {}},
            {"codeExecution": {}},
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        "generationConfig": {
            "maxOutputTokens": 40,
            "temperature": 0.3,
            "topP": 0.8,
            "stopSequences": ["x"],
            "responseMimeType": "application/json",
            "responseSchema": SCHEMA,
            "thinkingConfig": {"thinkingBudget": 512, "includeThoughts": True},
        },
    },
    {"contents": [{"parts": [{"text": "hi"}]}]},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _replace(body: Any, path: tuple[Any, ...], value: Any, remove: bool) -> Any:
    if not path:
        return value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if remove and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


@st.composite
def mutated(draw: st.DrawFn, corpus: list[dict[str, Any]]) -> Any:
    body: Any = copy.deepcopy(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        body = _replace(body, path, draw(JSON), draw(st.booleans()))
    return body


def bodies(corpus: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    return mutated(corpus) | JSON | st.dictionaries(st.sampled_from(list(corpus[0])), JSON)


class _Conversations:
    """Responses' reader asks the store for ``previous_response_id``: an empty history."""

    async def history(self, account_id: int, response_id: str) -> list[Any]:
        return []


class _Gateway:
    conversations = _Conversations()


PRINCIPAL = Principal(1, "k", 1, "a", "user", None, 100, None, None, None, False)


def _exchange(target: str = "m:generateContent") -> Exchange:
    scope = {"headers": [(b"anthropic-version", b"2023-06-01")], "query_string": b"alt=sse"}
    return Exchange(_Gateway(), scope, None, {"target": target})  # type: ignore[arg-type]


def _answered(request: ChatRequest) -> None:
    """The decoded request as the translated path serves it on ``echo``."""
    assert isinstance(request, ChatRequest)
    answer = asyncio.run(assemble(echo.stream(request, model="m")))
    assert answer.usage.input_tokens >= 0


def _decoded_or_refused(decode: Callable[[], ChatRequest]) -> None:
    try:
        request = decode()
    except RequestInvalid as exc:
        assert isinstance(exc.param, str) and exc.param, f"no param named: {exc.message}"
        assert exc.message
        return
    _answered(request)


def _through_edge(read: Callable[[], Any]) -> None:
    """The edge's reader, then the decoder it hands the pipeline (as ``edge.handle`` does)."""

    def decode() -> ChatRequest:
        inbound = read()
        if asyncio.iscoroutine(inbound):
            inbound = asyncio.run(inbound)
        return inbound.canonical()  # type: ignore[no-any-return]

    _decoded_or_refused(decode)


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@seed(SEED)
@PROPERTY
@given(body=bodies(CHAT))
def test_chat_decoder(body: Any) -> None:
    if not isinstance(body, dict):
        return
    _decoded_or_refused(lambda: (validate_request(body), chat_decode.decode_request(body))[1])
    _through_edge(lambda: chat_edge.read(_exchange(), body, PRINCIPAL))


@seed(SEED)
@PROPERTY
@given(body=bodies(RESPONSES))
def test_responses_decoder(body: Any) -> None:
    if not isinstance(body, dict):
        return
    _decoded_or_refused(lambda: responses_decode.decode_request(body))
    _through_edge(lambda: responses_edge.read(_exchange(), body, PRINCIPAL))


@seed(SEED)
@PROPERTY
@given(body=bodies(ANTHROPIC))
def test_anthropic_decoder(body: Any) -> None:
    if not isinstance(body, dict):
        return
    _decoded_or_refused(lambda: anthropic_decode.decode_request(body))
    _through_edge(lambda: anthropic_edge.read(_exchange(), body, PRINCIPAL))


@seed(SEED)
@PROPERTY
@given(body=bodies(GEMINI), method=st.sampled_from(["generateContent", "streamGenerateContent"]))
def test_gemini_decoder(body: Any, method: str) -> None:
    if not isinstance(body, dict):
        return
    _decoded_or_refused(lambda: gemini_decode.decode_request(body, model="m"))
    _through_edge(lambda: gemini_edge.read(_exchange(f"m:{method}"), body, PRINCIPAL))


def test_the_corpus_decodes() -> None:
    """The realistic requests the mutations start from are themselves accepted."""
    for body in CHAT:
        _answered(chat_decode.decode_request(body))
    for body in RESPONSES:
        _answered(responses_decode.decode_request(body))
    for body in ANTHROPIC:
        _answered(anthropic_decode.decode_request(body))
    for body in GEMINI:
        _answered(gemini_decode.decode_request(body, model="m"))
