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
from tests.fuzz.corpus import ANTHROPIC, CHAT, GEMINI, RESPONSES

EXAMPLES = int(os.environ.get("PATCHBAY_FUZZ_EXAMPLES", "1000"))
SEED = int(os.environ.get("PATCHBAY_FUZZ_SEED", "15"))  # fixed in the suite; vary to explore
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
