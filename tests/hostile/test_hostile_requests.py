"""Hostile requests against the real server get a clean 4xx in the client's envelope, never a
5xx nor a hang: oversized bodies (declared or streamed), invalid UTF-8, deeply nested JSON,
10,000 messages or tools, and slow senders that trickle their head or their body."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.servers import GatewayProcess, start_gateway

LIMIT = 1 << 20
CONFIG = f"""
[server]
max_body_bytes = {LIMIT}
header_timeout_s = 2
body_timeout_s = 2

[[models]]
id = "echo-priced"
pricing = {{ prompt = "0.000001", completion = "0.000002" }}
routes = [ {{ provider = "echo", model = "echo" }} ]
"""
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
GEMINI = "/v1beta/models/echo-priced:generateContent"
ADMIN = "/admin/accounts"
PATHS = (CHAT, MESSAGES, GEMINI, "/v1/responses", "/v1/embeddings", ADMIN)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str]]:
    gateway = start_gateway(tmp_path_factory.mktemp("hostile"), config=CONFIG)
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "h", "points": 10**8}).json()
        key = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "h", "rpm": 100000}
        ).json()["key"]
    yield gateway, key
    gateway.stop()
    lines = [line for line in gateway.log().splitlines() if "unhandled" in line]
    assert not lines, lines[:5]


def _key(gateway: GatewayProcess, key: str, path: str) -> str:
    return gateway.admin_key if path.startswith("/admin") else key


def post(
    gateway: GatewayProcess, key: str, path: str, content: bytes, **headers: str
) -> httpx.Response:
    return httpx.post(
        gateway.url + path,
        content=content,
        headers={
            "authorization": f"Bearer {_key(gateway, key, path)}",
            "content-type": "application/json",
            **headers,
        },
        timeout=30,
    )


def _enveloped(response: httpx.Response, path: str, status: int) -> None:
    assert response.status_code == status, (path, response.status_code, response.text[:300])
    body = response.json()
    if path == MESSAGES:
        assert body["type"] == "error" and body["error"]["message"]
    elif path.startswith("/v1beta"):
        assert body["error"]["code"] == status and body["error"]["status"]
    else:
        assert body["error"]["message"] and body["error"]["type"]


@pytest.mark.parametrize("path", PATHS)
def test_an_oversized_body_is_413_declared_or_streamed(
    served: tuple[GatewayProcess, str], path: str
) -> None:
    gateway, key = served
    big = b'{"model": "echo", "x": "' + b"a" * (LIMIT + 10) + b'"}'
    _enveloped(post(gateway, key, path, big), path, 413)

    def chunks() -> Iterator[bytes]:  # no content-length: the limit is found while reading
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    _enveloped(post(gateway, key, path, chunks()), path, 413)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "content",
    [
        b'{"model": "echo", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
        b'{"model": "echo\xc3\x28"}',
        b"\xed\xa0\x80",
        b'{"model": "echo", "messages": "\\ud800"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"model": "echo", "max_tokens": 1e400}',
        b"[]",
        b'"text"',
        b"null",
        b"",
        b"\x00\x00\x00",
    ],
    ids=[
        "invalid-utf8-in-string",
        "invalid-utf8-in-model",
        "surrogate-bytes",
        "lone-surrogate-escape",
        "nested-arrays",
        "nested-objects",
        "infinite-number",
        "array",
        "string",
        "null",
        "empty",
        "nul-bytes",
    ],
)
def test_malformed_json_is_400(
    served: tuple[GatewayProcess, str], path: str, content: bytes
) -> None:
    gateway, key = served
    response = post(gateway, key, path, content)
    if content == b'{"model": "echo", "messages": "\\ud800"}' and response.status_code == 400:
        return  # a lone surrogate may be refused as JSON or as a shape: either is the 400
    _enveloped(response, path, 400)


def _many_messages(n: int) -> dict[str, object]:
    return {
        "model": "echo-priced",
        "max_tokens": 5,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"}
            for i in range(n - 1)
        ]
        + [{"role": "user", "content": "last"}],
    }


def test_ten_thousand_messages_or_tools_are_answered(served: tuple[GatewayProcess, str]) -> None:
    gateway, key = served
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    cases = {
        CHAT: _many_messages(10_000),
        MESSAGES: _many_messages(10_000),
        "/v1/responses": {
            "model": "echo-priced",
            "input": [{"role": "user", "content": f"m{i}"} for i in range(10_000)],
        },
        GEMINI: {
            "contents": [{"role": "user", "parts": [{"text": f"m{i}"}]} for i in range(10_000)]
        },
    }
    tools = dict(_many_messages(1))
    tools["tools"] = [
        {**tool, "function": {**tool["function"], "name": f"f{i}"}} for i in range(10_000)
    ]
    for path, body in [*cases.items(), (CHAT, tools)]:
        started = time.monotonic()
        response = post(gateway, key, path, orjson.dumps(body))
        assert response.status_code == 200, (path, response.text[:300])
        assert time.monotonic() - started < 15, path


def _raw(gateway: GatewayProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    return sock


def _read_all(sock: socket.socket, within: float) -> bytes:
    sock.settimeout(within)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


@pytest.mark.parametrize("path", [CHAT, MESSAGES, GEMINI, "/v1/audio/transcriptions", ADMIN])
def test_a_body_that_trickles_times_out_with_408(
    served: tuple[GatewayProcess, str], path: str
) -> None:
    gateway, key = served
    sock = _raw(gateway)
    started = time.monotonic()
    kind = "multipart/form-data; boundary=xx" if "audio" in path else "application/json"
    head = (
        f"POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {_key(gateway, key, path)}\r\n"
        f"content-type: {kind}\r\ncontent-length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"model": ')
    answer = b""
    for _ in range(8):  # one byte a second: never finished within the body deadline
        time.sleep(0.5)
        try:
            sock.sendall(b" ")
        except OSError:
            break
        answer += _read_all(sock, 0.01)
        if answer:
            break
    answer += _read_all(sock, 3)
    sock.close()
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive" in answer
    if path == MESSAGES:
        assert b'"timeout_error"' in answer
    elif path == GEMINI:
        assert b'"DEADLINE_EXCEEDED"' in answer
    else:
        assert b'"request_timeout"' in answer
    assert elapsed < 6, elapsed


def test_a_head_that_trickles_is_cut_off_with_408(served: tuple[GatewayProcess, str]) -> None:
    gateway, _ = served
    sock = _raw(gateway)
    started = time.monotonic()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
    answer = b""
    for _ in range(12):  # a header line every half second, never the blank line
        time.sleep(0.5)
        try:
            sock.sendall(b"x-slow: 1\r\n")
        except OSError:
            break
        answer += _read_all(sock, 0.01)
        if answer:
            break
    answer += _read_all(sock, 3)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 6


def test_an_idle_connection_that_never_sends_is_closed(served: tuple[GatewayProcess, str]) -> None:
    gateway, _ = served
    sock = _raw(gateway)
    started = time.monotonic()
    answer = _read_all(sock, 8)
    sock.close()
    assert time.monotonic() - started < 7  # closed by the server, not by our read timeout
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


def test_a_kept_alive_connection_left_idle_is_closed(served: tuple[GatewayProcess, str]) -> None:
    """After an answer, a keep-alive connection that sends nothing more is closed once
    uvicorn's keep-alive wait (5 s) is over; two requests in a row on it are both answered."""
    gateway, key = served
    body = orjson.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]})
    request = (
        f"POST {CHAT} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    sock = _raw(gateway)
    answers = b""
    for _ in range(2):
        sock.sendall(request)
        answers += _read_all(sock, 1)
    assert answers.count(b"HTTP/1.1 200 OK") == 2, answers[:300]
    started = time.monotonic()
    rest = _read_all(sock, 9)  # returns when the server closes the connection
    waited = time.monotonic() - started
    sock.close()
    assert rest == b""
    assert 3.5 < waited < 7.5, waited  # the keep-alive wait, kept to within a second


def test_the_server_still_answers_after_all_that(served: tuple[GatewayProcess, str]) -> None:
    gateway, key = served
    response = post(
        gateway,
        key,
        CHAT,
        orjson.dumps({"model": "echo", "messages": [{"role": "user", "content": "still here"}]}),
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "still here"
