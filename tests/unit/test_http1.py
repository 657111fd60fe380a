"""The lean upstream client's wire format: which URLs it takes, and the request head."""

from __future__ import annotations

import pytest

from patchbay.upstream.http1 import BadHeader, Target, request_head, target


def test_target_of_each_url_shape() -> None:
    assert target("http://127.0.0.1:8080/v1/chat/completions") == Target(
        "http", "127.0.0.1", 8080, "/v1/chat/completions", "127.0.0.1:8080"
    )
    where = target("https://api.example.com/v1beta/models/m:streamGenerateContent?alt=sse")
    assert where is not None
    assert (where.port, where.path, where.authority) == (
        443,
        "/v1beta/models/m:streamGenerateContent?alt=sse",
        "api.example.com",
    )
    six = target("http://[::1]:9000")
    assert six is not None and (six.host, six.path, six.authority) == ("::1", "/", "[::1]:9000")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",  # not HTTP
        "http://user:secret@example.com/v1",  # credentials: aiohttp turns them into a header
        "http://example.com:99999/v1",  # no such port
        "http:///v1",  # no host
        "http://example.com/a b",  # a space would break the request line
    ],
)
def test_urls_left_to_aiohttp(url: str) -> None:
    assert target(url) is None


def test_request_head() -> None:
    where = target("http://up.test:81/v1/messages?beta=true")
    assert where is not None
    head = request_head(
        "POST",
        where,
        {"Content-Type": "application/json", "x-api-key": "k", "Host": "evil", "connection": "x"},
        12,
    )
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/messages?beta=true HTTP/1.1"
    assert lines[-2:] == ["", ""]  # the head ends with an empty line
    fields = [line.split(": ", 1) for line in lines[1:-2]]
    names = [name.lower() for name, _ in fields]
    assert dict((n.lower(), v) for n, v in fields) == {
        "host": "up.test:81",
        "accept": "*/*",
        "content-type": "application/json",
        "x-api-key": "k",
        "user-agent": "patchbay",
        "content-length": "12",
    }
    assert len(names) == len(set(names))  # the caller's Host and Connection are not sent


def test_request_head_defaults_and_bodiless_calls() -> None:
    where = target("http://up.test/v1/files/1")
    assert where is not None
    head = request_head("GET", where, {"User-Agent": "mine"}, None).decode()
    assert "content-length" not in head and "patchbay" not in head
    assert "User-Agent: mine\r\n" in head
    head = request_head("POST", where, {}, 3).decode()
    assert "content-type: application/octet-stream\r\n" in head  # as aiohttp labels bytes


@pytest.mark.parametrize(
    "headers",
    [
        {"x-one": "a\r\nx-injected: 1"},
        {"x-one": "a\nx-injected: 1"},
        {"x-one": "a\rx-injected: 1"},
        {"x-one\r\nx-injected": "1"},
    ],
)
def test_a_line_break_in_a_header_is_refused(headers: dict[str, str]) -> None:
    where = target("http://up.test/v1")
    assert where is not None
    with pytest.raises(BadHeader):
        request_head("POST", where, headers, 0)
