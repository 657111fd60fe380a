"""Golden transcripts: recorded-shape streams of each upstream protocol, translated to each
client protocol, compared with the expected output kept beside them.

Regenerate after an intended change with ``PATCHBAY_REGEN_GOLDEN=1 pytest
tests/unit/test_golden_transcripts.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from patchbay.protocols.anthropic_messages import stream as anthropic_stream
from patchbay.protocols.gemini import stream as gemini_stream
from patchbay.protocols.openai_chat import stream as chat_stream
from patchbay.protocols.openai_responses import stream as responses_stream
from patchbay.providers.registry import adapter

HERE = Path(__file__).parent.parent / "fixtures" / "transcripts"
UPSTREAMS = ["openai", "openai-responses", "anthropic", "gemini"]
CLIENTS = {
    "chat": chat_stream,
    "responses": responses_stream,
    "anthropic": anthropic_stream,
    "gemini": gemini_stream,
}
VOLATILE = [
    (re.compile(r'"(resp|msg|fc|rs)_[0-9a-f]{24}"'), r'"\1_ID"'),
    (re.compile(r'"(created|created_at)":\d+'), r'"\1":0'),
]


def translate(upstream: str, client: str) -> str:
    parser = adapter(upstream).stream_parser()  # type: ignore[attr-defined]
    encoder = CLIENTS[client].StreamEncoder(model="patchbay-model")
    data = (HERE / f"{upstream}.sse").read_bytes()
    out = b""
    for i in range(0, len(data), 7):  # odd chunk boundaries, as a network would cut them
        for event in parser.feed(data[i : i + 7]):
            out += encoder.encode(event)
    for event in parser.close():
        out += encoder.encode(event)
    text = out.decode()
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_transcript(upstream: str, client: str) -> None:
    expected_path = HERE / "expected" / f"{upstream}__{client}.txt"
    actual = translate(upstream, client)
    if os.environ.get("PATCHBAY_REGEN_GOLDEN") == "1":
        expected_path.write_bytes(actual.encode())
    assert actual == expected_path.read_bytes().decode()  # bytes: Gemini frames end in CRLF
    assert "get_weather" in actual and "Paris" in actual and "Let me " in actual
