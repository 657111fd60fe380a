"""The wire contract of the upstream HTTP client (``patchbay.upstream.client.UpstreamClient``).

Each test drives the client's public methods (``post``, ``open_stream`` and the stream's
``chunks`` / ``at_eof`` / ``aclose``) against a raw asyncio TCP server written here, which
speaks hand-written HTTP/1.1 bytes: the test decides exactly what goes on the wire, how it
is split across writes, when it pauses and when it closes. Nothing here knows how the client
is built, so any implementation that meets the contract passes.

Every test runs on the stdlib event loop and on uvloop (what ``patchbay serve`` runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import hashlib
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
import uvloop

from patchbay.errors import UpstreamError, UpstreamTimeout
from patchbay.upstream.client import UpstreamClient

PROVIDER = "acme-upstream"
BUDGET_S = 10.0  # a test that would hang fails instead
MIB = 1 << 20
LAST = b"0\r\n\r\n"


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def go(main: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(asyncio.wait_for(main, BUDGET_S))

    return go


# -- the upstream side: a raw HTTP/1.1 server ---------------------------------------------


@dataclass
class Request:
    """One request as the server read it off the wire."""

    method: str
    target: str
    version: str
    lines: list[tuple[str, str]]  # header lines in order, names as sent
    body: bytes
    raw_head: bytes
    connection: int  # which accepted connection (1, 2, ...) carried it

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.lines if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        found = self.values(name)
        assert len(found) <= 1, f"{name} sent {len(found)} times: {found}"
        return found[0] if found else None


class Conn:
    """The server's end of one accepted connection."""

    def __init__(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.number = server.connections

    async def request(self) -> Request | None:
        """The next request, or ``None`` once the client has closed the connection."""
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        # split on bare LF too, as lenient servers do: a smuggled line must show up here
        lines = [line.rstrip(b"\r").decode("latin-1") for line in raw[:-4].split(b"\n")]
        method, target, version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
        request = Request(method, target, version, headers, b"", raw, self.number)
        length = request.values("content-length")
        if length:
            request.body = await self.reader.readexactly(int(length[0]))
        elif "chunked" in ",".join(request.values("transfer-encoding")).lower():
            request.body = await self._chunked()
        self.server.requests.append(request)
        return request

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def send(self, *pieces: bytes, pause: float = 0.0) -> None:
        """Each piece in its own write, ``pause`` seconds apart."""
        for i, piece in enumerate(pieces):
            if i and pause:
                await asyncio.sleep(pause)
            self.writer.write(piece)
            await self.writer.drain()

    async def until_closed(self) -> None:
        """Read (and drop) whatever comes until the client closes the connection."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[Conn], Awaitable[None]]


class Server:
    """An upstream on 127.0.0.1 whose every connection is given to ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[Request] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[BaseException] = []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/v1/call") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(Conn(self, reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        except BaseException as exc:  # a failed assertion in a handler fails the test
            self.errors.append(exc)
        finally:
            writer.close()

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()
        if self.errors and exc_info[0] is None:
            raise self.errors[0]


def head(
    status: int = 200,
    *,
    content_type: str | None = "application/json",
    length: int | None = None,
    chunked: bool = False,
    extra: tuple[tuple[str, str], ...] = (),
    reason: str = "OK",
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}\r\n"]
    if content_type is not None:
        lines.append(f"content-type: {content_type}\r\n")
    if length is not None:
        lines.append(f"content-length: {length}\r\n")
    if chunked:
        lines.append("transfer-encoding: chunked\r\n")
    lines += [f"{name}: {value}\r\n" for name, value in extra]
    return ("".join(lines) + "\r\n").encode("latin-1")


def answer(body: bytes, status: int = 200, **kw: Any) -> bytes:
    return head(status, length=len(body), **kw) + body


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def each(reply: Callable[[Request], bytes]) -> Handler:
    """Answer every request on a kept-alive connection with ``reply(request)``."""

    async def handler(conn: Conn) -> None:
        while (request := await conn.request()) is not None:
            await conn.send(reply(request))

    return handler


def ok(request: Request) -> bytes:
    return answer(b'{"ok":true,"path":"' + request.target.encode() + b'"}')


async def silent(conn: Conn) -> None:
    """Accept, read the request, never answer."""
    await conn.request()
    await conn.until_closed()


# -- the client side ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def upstream() -> AsyncIterator[UpstreamClient]:
    client = UpstreamClient(allow_private=True)
    try:
        yield client
    finally:
        await client.aclose()


async def post(
    client: UpstreamClient,
    url: str,
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
    timeout_s: Any = 5.0,
    **kw: Any,
) -> Any:
    return await client.post(
        PROVIDER, url, body, dict(headers or {}), timeout_s, guarded=False, **kw
    )


async def open_stream(
    client: UpstreamClient,
    url: str,
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
    timeout_s: Any = 5.0,
) -> Any:
    return await client.open_stream(
        PROVIDER, url, body, dict(headers or {}), timeout_s, guarded=False
    )


def assert_names_provider_only(exc: BaseException, server: Server | None, port: int) -> None:
    """The message names the provider and gives away nothing of where it lives."""
    text = str(exc)
    assert PROVIDER in text, text
    for leak in ("127.0.0.1", "localhost", str(port), "http://", "/v1/"):
        assert leak not in text, f"{leak!r} in {text!r}"
    if server is not None:
        assert server.url() not in text


def refusal_date(ahead_s: float) -> str:
    return email.utils.formatdate(time.time() + ahead_s, usegmt=True)


# -- 1. answers, whole ---------------------------------------------------------------------


def test_whole_answer_with_content_length(run: Any) -> None:
    body = b'{"ok": true, "text": "caf\xc3\xa9 \xe2\x9c\x93"}'

    async def main() -> Any:
        reply = answer(body, content_type="application/json; charset=utf-8")
        async with Server(each(lambda _: reply)) as server, upstream() as client:
            return await post(client, server.url())

    r = run(main())
    assert r.status == 200
    assert r.body == body
    assert r.content_type == "application/json; charset=utf-8"


def test_chunked_answer_split_at_awkward_byte_boundaries(run: Any) -> None:
    alphabet = b"abcdefghijklmnopqrstuvwxyz"  # 0x1a bytes
    # every "|" is a write boundary: mid status line, mid header name and value, CR|LF,
    # mid chunk-size line, mid chunk data, and the terminating chunk in two
    wire = (
        b"HTTP/1.|1 200 OK\r\ncontent-ty|pe: text/pl|ain\r|\ntransfer-encoding: chunked\r\n\r|\n"
        b"5\r\nhel|lo\r|\n1|a\r|\nabcdefghijklm|nopqrstuvwxyz\r\n|0\r\n|\r\n"
    )
    pieces = wire.split(b"|")

    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            await conn.send(*pieces, pause=0.01)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            first = await post(client, server.url())
            again = await post(client, server.url())  # the framing ended where it should
            return first, again, server.connections

    first, again, connections = run(main())
    for r in (first, again):
        assert r.status == 200
        assert r.body == b"hello" + alphabet
        assert r.content_type == "text/plain"
    assert connections == 1


def test_answer_read_until_the_server_closes(run: Any) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(head(content_type="text/plain"), b"part one, ", b"part two", pause=0.02)
        conn.close()

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            first = await post(client, server.url())
            second = await post(client, server.url())  # the closed connection is not reused
            return first, second, server.connections

    first, second, connections = run(main())
    for r in (first, second):
        assert r.status == 200
        assert r.body == b"part one, part two"
        assert r.content_type == "text/plain"
    assert connections == 2


# -- 2. the request as the upstream receives it ------------------------------------------


def test_post_request_on_the_wire(run: Any) -> None:
    body = b'{"model": "m", "q": "\xe2\x9c\x93"}'
    path = "/v1/chat/completions?api-version=2024-06-01&x=a%20b"
    sent = {
        "authorization": "Bearer sk-upstream",
        "content-type": "application/json",
        "x-trace-id": "trace-42",
    }

    async def main() -> Any:
        async with Server(each(ok)) as server, upstream() as client:
            r = await post(client, server.url(path), body, sent)
            return r, server.requests, server.port

    r, requests, port = run(main())
    assert r.status == 200
    [request] = requests
    assert request.method == "POST"
    assert request.target == path
    assert request.version == "HTTP/1.1"
    assert request.header("host") == f"127.0.0.1:{port}"
    assert request.header("content-length") == str(len(body))
    assert request.body == body
    for name, value in sent.items():
        assert request.values(name) == [value]
    assert request.values("user-agent") == ["patchbay"]


def test_get_request_with_an_empty_body(run: Any) -> None:
    async def main() -> Any:
        async with Server(each(ok)) as server, upstream() as client:
            got = await post(client, server.url("/v1/models?limit=5"), b"", method="GET")
            # the next request on the same connection parses: no stray body went out
            then = await post(client, server.url("/v1/next"), b"{}")
            return got, then, server.requests

    got, then, requests = run(main())
    assert got.status == 200 and then.status == 200
    assert got.body == b'{"ok":true,"path":"/v1/models?limit=5"}'
    first, second = requests
    assert first.method == "GET"
    assert first.target == "/v1/models?limit=5"
    assert first.body == b""
    assert first.header("content-length") in (None, "0")
    assert first.header("transfer-encoding") is None
    assert second.method == "POST" and second.target == "/v1/next" and second.body == b"{}"
    assert second.connection == first.connection


@pytest.mark.parametrize("name", ["user-agent", "User-Agent"])
def test_callers_user_agent_is_sent_instead_of_patchbays(run: Any, name: str) -> None:
    async def main() -> Any:
        async with Server(each(ok)) as server, upstream() as client:
            await post(client, server.url(), headers={name: "acme-sdk/1.2"})
            return server.requests

    [request] = run(main())
    assert request.values("user-agent") == ["acme-sdk/1.2"]  # once, whatever its case


def test_no_cookie_is_sent_back_after_set_cookie(run: Any) -> None:
    reply = answer(b"{}", extra=(("set-cookie", "session=s3cr3t; Path=/"),))

    async def main() -> Any:
        async with Server(each(lambda _: reply)) as server, upstream() as client:
            await post(client, server.url())
            await post(client, server.url())
            return server.requests

    first, second = run(main())
    assert first.values("cookie") == []
    assert second.values("cookie") == []


# -- 3. and 4. keep-alive -------------------------------------------------------------------


def test_sequential_calls_share_one_connection(run: Any) -> None:
    async def main() -> Any:
        async with Server(each(ok)) as server, upstream() as client:
            bodies = [(await post(client, server.url(f"/v1/{i}"))).body for i in range(3)]
            return bodies, server.connections

    bodies, connections = run(main())
    assert bodies == [b'{"ok":true,"path":"/v1/%d"}' % i for i in range(3)]
    assert connections == 1


def test_connection_close_answer_makes_the_next_call_connect_anew(run: Any) -> None:
    async def handler(conn: Conn) -> None:
        while (request := await conn.request()) is not None:
            if request.target == "/v1/close":
                await conn.send(answer(b"bye", extra=(("connection", "close"),)))
                conn.close()
                return
            await conn.send(ok(request))

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            a = await post(client, server.url("/v1/a"))
            bye = await post(client, server.url("/v1/close"))
            b = await post(client, server.url("/v1/b"))
            return a, bye, b, server.requests, server.connections

    a, bye, b, requests, connections = run(main())
    assert (a.status, bye.status, b.status) == (200, 200, 200)
    assert bye.body == b"bye"
    assert b.body == b'{"ok":true,"path":"/v1/b"}'
    assert [r.connection for r in requests] == [1, 1, 2]
    assert connections == 2


def test_idle_connection_closed_by_the_server_is_replaced(run: Any) -> None:
    async def handler(conn: Conn) -> None:
        request = await conn.request()
        assert request is not None
        await conn.send(ok(request))
        await asyncio.sleep(0.05)
        conn.close()  # an idle kept-alive connection, closed by its server

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            first = await post(client, server.url("/v1/1"))
            await asyncio.sleep(0.2)
            second = await post(client, server.url("/v1/2"))
            return first, second, server.connections

    first, second, connections = run(main())
    assert first.status == 200 and second.status == 200
    assert second.body == b'{"ok":true,"path":"/v1/2"}'
    assert connections == 2


def test_connection_closed_right_after_its_answer_is_replaced(run: Any) -> None:
    """The server closes (without saying ``connection: close``) as soon as it has answered;
    the next call may go out before the client has seen the close, and still succeeds."""

    async def handler(conn: Conn) -> None:
        request = await conn.request()
        assert request is not None
        await conn.send(ok(request))
        conn.close()

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            results = [await post(client, server.url(f"/v1/{i}")) for i in range(3)]
            return results, server.requests

    results, requests = run(main())
    assert [r.body for r in results] == [b'{"ok":true,"path":"/v1/%d"}' % i for i in range(3)]
    assert [r.target for r in requests] == ["/v1/0", "/v1/1", "/v1/2"]


# -- 5. streams ---------------------------------------------------------------------------


def framed(pieces: list[bytes], framing: str, content_type: str = "text/event-stream") -> list:
    """The writes of a streamed answer: the head, then each piece in its framing (the
    chunked terminator rides with the last piece)."""
    if framing == "chunked":
        writes = [chunk(p) for p in pieces]
        writes[-1] += LAST
        return [head(content_type=content_type, chunked=True), *writes]
    length = sum(len(p) for p in pieces)
    return [head(content_type=content_type, length=length), *pieces]


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_stream_head_arrives_before_the_body(run: Any, framing: str) -> None:
    pieces = [b'data: {"n": 1}\n\n']

    async def main() -> Any:
        gate = asyncio.Event()

        async def handler(conn: Conn) -> None:
            await conn.request()
            first, *rest = framed(pieces, framing)
            await conn.send(first)
            await gate.wait()  # the body waits for the test to have the head
            await conn.send(*rest)
            await conn.until_closed()

        async with Server(handler) as server, upstream() as client:
            stream = await asyncio.wait_for(open_stream(client, server.url()), 2)
            seen = (stream.status, stream.content_type, stream.body, stream.at_eof())
            gate.set()
            got = [c async for c in stream.chunks]
            await stream.aclose()
            return seen, got

    seen, got = run(main())
    assert seen == (200, "text/event-stream", b"", False)
    assert b"".join(got) == pieces[0]


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_stream_pieces_arrive_as_separate_chunks_in_order(run: Any, framing: str) -> None:
    pieces = [b"data: one\n\n", b"data: two\n\n", b'data: {"three": 3}\n\n', b"data: [DONE]\n\n"]

    async def main() -> Any:
        taken: asyncio.Queue[None] = asyncio.Queue()

        async def handler(conn: Conn) -> None:
            await conn.request()
            first, *writes = framed(pieces, framing)
            await conn.send(first)
            for i, write in enumerate(writes):
                if i:
                    await taken.get()  # the previous piece reached the test
                    await asyncio.sleep(0.01)
                await conn.send(write)
            await conn.until_closed()

        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url())
            got, eof = [], [stream.at_eof()]
            async for piece in stream.chunks:
                got.append(piece)
                eof.append(stream.at_eof())
                taken.put_nowait(None)
            eof.append(stream.at_eof())
            await stream.aclose()
            return stream.status, got, eof

    status, got, eof = run(main())
    assert status == 200
    assert got == pieces
    assert b"".join(got) == b"".join(pieces)
    # before anything, after each piece but the last: False; after the last and at the end
    assert eof == [False, False, False, False, True, True]


def test_stream_read_to_its_end_leaves_its_connection_for_the_next_call(run: Any) -> None:
    pieces = [b"data: a\n\n", b"data: b\n\n"]

    async def handler(conn: Conn) -> None:
        while (request := await conn.request()) is not None:
            if request.target == "/v1/stream":
                await conn.send(*framed(pieces, "chunked"), pause=0.01)
            else:
                await conn.send(ok(request))

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url("/v1/stream"))
            got = [c async for c in stream.chunks]
            await stream.aclose()
            after = await post(client, server.url("/v1/after"))
            return got, after, server.connections

    got, after, connections = run(main())
    assert b"".join(got) == b"".join(pieces)
    assert after.status == 200
    assert connections == 1


def test_stream_closed_midway_returns_promptly_and_the_next_call_works(run: Any) -> None:
    async def main() -> Any:
        gone = asyncio.Event()

        async def handler(conn: Conn) -> None:
            request = await conn.request()
            assert request is not None
            if request.target == "/v1/stream":
                await conn.send(head(content_type="text/event-stream", chunked=True))
                await conn.send(chunk(b"data: first\n\n"))
                await conn.until_closed()  # never the rest
                gone.set()
                return
            await conn.send(ok(request))
            await conn.until_closed()

        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url("/v1/stream"))
            first = await anext(aiter(stream.chunks))
            started = time.monotonic()
            await asyncio.wait_for(stream.aclose(), 1)
            closing = time.monotonic() - started
            await stream.aclose()  # safe twice
            await asyncio.wait_for(gone.wait(), 2)  # the half-read connection was let go
            after = await post(client, server.url("/v1/after"))
            return first, closing, after

    first, closing, after = run(main())
    assert first == b"data: first\n\n"
    assert closing < 0.5
    assert after.status == 200
    assert after.body == b'{"ok":true,"path":"/v1/after"}'


REFUSAL = b'{"error": {"message": "slow down", "type": "rate_limit"}}'
REFUSALS = [
    pytest.param(429, lambda: "7", (7.0, 7.0), id="429-seconds"),
    pytest.param(503, lambda: refusal_date(5), (3.0, 5.0), id="503-http-date"),
]


def refuser(status: int, retry_after: Callable[[], str]) -> Handler:
    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            extra = (("retry-after", retry_after()),)
            top = head(status, length=len(REFUSAL), extra=extra, reason="Refused")
            # the body comes in two writes after the head: all of it must be read
            await conn.send(top, REFUSAL[:10], REFUSAL[10:], pause=0.02)

    return handler


@pytest.mark.parametrize(("status", "retry_after", "bounds"), REFUSALS)
def test_stream_refusal_comes_whole_with_retry_after(
    run: Any, status: int, retry_after: Callable[[], str], bounds: tuple[float, float]
) -> None:
    async def main() -> Any:
        async with Server(refuser(status, retry_after)) as server, upstream() as client:
            stream = await open_stream(client, server.url())
            chunks = [c async for c in stream.chunks]
            await stream.aclose()
            return stream, chunks

    stream, chunks = run(main())
    assert stream.status == status
    assert stream.body == REFUSAL
    assert stream.content_type == "application/json"
    assert chunks == []
    assert stream.retry_after is not None
    assert bounds[0] <= stream.retry_after <= bounds[1]


@pytest.mark.parametrize(("status", "retry_after", "bounds"), REFUSALS)
def test_post_refusal_comes_whole_with_retry_after(
    run: Any, status: int, retry_after: Callable[[], str], bounds: tuple[float, float]
) -> None:
    async def main() -> Any:
        async with Server(refuser(status, retry_after)) as server, upstream() as client:
            return await post(client, server.url())

    r = run(main())
    assert r.status == status
    assert r.body == REFUSAL
    assert r.content_type == "application/json"
    assert r.retry_after is not None
    assert bounds[0] <= r.retry_after <= bounds[1]


# -- 6. timeouts and refused connections --------------------------------------------------

FIRST_BYTE = [
    pytest.param(0.3, id="timeout_s"),
    pytest.param((2.0, 0.3, 5.0, 8.0), id="first_byte"),
]


async def timed_out(ask: Any, client: Any, url: str, timeout_s: Any) -> tuple[float, Any]:
    """How long ``ask`` took to raise ``UpstreamTimeout``, and the error."""
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        await ask(client, url, timeout_s=timeout_s)
    return time.monotonic() - started, caught.value


@pytest.mark.parametrize("call", ["post", "open_stream"])
@pytest.mark.parametrize("timeout_s", FIRST_BYTE)
def test_a_server_that_never_answers_times_out(run: Any, timeout_s: Any, call: str) -> None:
    ask = post if call == "post" else open_stream

    async def main() -> Any:
        async with Server(silent) as server, upstream() as client:
            return *(await timed_out(ask, client, server.url(), timeout_s)), server.port

    elapsed, exc, port = run(main())
    assert 0.25 <= elapsed < 2
    assert_names_provider_only(exc, None, port)


@pytest.mark.parametrize(
    "timeout_s", [pytest.param(0.3, id="timeout_s"), pytest.param((2.0, 2.0, 0.3, 8.0), id="idle")]
)
def test_stream_silent_longer_than_the_idle_gap_times_out(run: Any, timeout_s: Any) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(head(content_type="text/event-stream", chunked=True))
        await conn.send(chunk(b"data: 1\n\n"))
        await conn.until_closed()  # then silence

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url(), timeout_s=timeout_s)
            chunks = aiter(stream.chunks)
            first = await anext(chunks)
            started = time.monotonic()
            with pytest.raises(UpstreamTimeout) as caught:
                await anext(chunks)
            elapsed = time.monotonic() - started
            await stream.aclose()
            return first, elapsed, caught.value, server.port

    first, elapsed, exc, port = run(main())
    assert first == b"data: 1\n\n"
    assert 0.2 <= elapsed < 2
    assert_names_provider_only(exc, None, port)


def test_stream_with_gaps_shorter_than_idle_outlasts_it(run: Any) -> None:
    pieces = [b"data: %d\n\n" % i for i in range(6)]  # 0.4 s in all, 0.08 s apart

    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(*framed(pieces, "chunked"), pause=0.08)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url(), timeout_s=(2.0, 2.0, 0.3, 8.0))
            got = [c async for c in stream.chunks]
            await stream.aclose()
            return got

    assert b"".join(run(main())) == b"".join(pieces)


@pytest.mark.parametrize(
    "timeout_s", [pytest.param(0.5, id="timeout_s"), pytest.param((2.0, 2.0, 2.0, 0.5), id="total")]
)
def test_post_whose_answer_trickles_past_the_total_times_out(run: Any, timeout_s: Any) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(head(length=100, content_type="text/plain"))
        for _ in range(100):  # a byte every 50 ms: 5 s for the whole answer
            await asyncio.sleep(0.05)
            await conn.send(b"x")

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            return *(await timed_out(post, client, server.url(), timeout_s)), server.port

    elapsed, exc, port = run(main())
    assert 0.4 <= elapsed < 2
    assert_names_provider_only(exc, None, port)


def test_post_slower_than_first_byte_but_within_total_succeeds(run: Any) -> None:
    body = b"0123456789" * 6

    async def handler(conn: Conn) -> None:
        await conn.request()
        pieces = [body[i : i + 10] for i in range(0, len(body), 10)]
        await conn.send(head(length=len(body), content_type="text/plain"), *pieces, pause=0.08)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            return await post(client, server.url(), timeout_s=(2.0, 0.3, 0.3, 5.0))

    r = run(main())
    assert r.status == 200 and r.body == body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("kind", ["post", "stream"])
def test_connection_refused_names_the_provider(run: Any, kind: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/call"

    async def main() -> Any:
        async with upstream() as client:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                if kind == "post":
                    await post(client, url, timeout_s=2.0)
                else:
                    await open_stream(client, url, timeout_s=2.0)
            return time.monotonic() - started, caught.value

    elapsed, exc = run(main())
    assert elapsed < 2
    assert "refused the connection" in str(exc)
    assert_names_provider_only(exc, None, port)


# -- 7. broken answers --------------------------------------------------------------------

CUT = [pytest.param("length", id="content-length"), pytest.param("chunked", id="chunked")]


def cut_answer(framing: str) -> Handler:
    """Promises more than it sends, then closes: content-length 100 with 10 bytes, or a
    chunk of 0x10 bytes with 9."""

    async def handler(conn: Conn) -> None:
        await conn.request()
        if framing == "length":
            await conn.send(head(length=100, content_type="text/plain"), b"0123456789", pause=0.02)
        else:
            top = head(content_type="text/plain", chunked=True)
            await conn.send(top, chunk(b"0"), b"10\r\n123456789", pause=0.02)
        await asyncio.sleep(0.02)
        conn.close()

    return handler


@pytest.mark.parametrize("framing", CUT)
def test_post_whose_answer_is_cut_short_fails(run: Any, framing: str) -> None:
    async def main() -> Any:
        async with Server(cut_answer(framing)) as server, upstream() as client:
            with pytest.raises(UpstreamError) as caught:
                await post(client, server.url())
            return caught.value, server.port

    exc, port = run(main())
    assert_names_provider_only(exc, None, port)


@pytest.mark.parametrize("framing", CUT)
def test_stream_whose_body_is_cut_short_fails_while_reading(run: Any, framing: str) -> None:
    async def main() -> Any:
        async with Server(cut_answer(framing)) as server, upstream() as client:
            stream = await open_stream(client, server.url())
            got = []
            with pytest.raises(UpstreamError) as caught:
                async for piece in stream.chunks:
                    got.append(piece)
            await stream.aclose()
            return stream.status, b"".join(got), caught.value, server.port

    status, got, exc, port = run(main())
    assert status == 200
    assert b"0123456789".startswith(got)
    assert_names_provider_only(exc, None, port)


@pytest.mark.parametrize("kind", ["post", "stream"])
def test_garbage_instead_of_a_status_line_fails(run: Any, kind: str) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n")
        await conn.until_closed()

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                if kind == "post":
                    await post(client, server.url())
                else:
                    stream = await open_stream(client, server.url())
                    await stream.aclose()
            return time.monotonic() - started, caught.value, server.port

    elapsed, exc, port = run(main())
    assert elapsed < 2  # refused at once, not timed out
    assert_names_provider_only(exc, None, port)


# -- 8. size and concurrency ---------------------------------------------------------------


def test_one_mebibyte_each_way(run: Any) -> None:
    sent = os.urandom(MIB)
    back = os.urandom(MIB)

    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            top = head(length=len(back), content_type="application/octet-stream")
            pieces = [back[i : i + 65536] for i in range(0, len(back), 65536)]
            await conn.send(top, *pieces)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            whole = await post(client, server.url(), sent, {"content-type": "application/json"})
            stream = await open_stream(client, server.url(), sent)
            streamed = b"".join([c async for c in stream.chunks])
            await stream.aclose()
            return whole, streamed, server.requests

    whole, streamed, requests = run(main())
    assert whole.status == 200
    assert hashlib.sha256(whole.body).digest() == hashlib.sha256(back).digest()
    assert hashlib.sha256(streamed).digest() == hashlib.sha256(back).digest()
    for request in requests:
        assert request.header("content-length") == str(MIB)
        assert hashlib.sha256(request.body).digest() == hashlib.sha256(sent).digest()


def test_fifty_concurrent_posts_each_get_their_own_answer(run: Any) -> None:
    async def handler(conn: Conn) -> None:
        while (request := await conn.request()) is not None:
            await asyncio.sleep(random.random() * 0.02)
            echo = request.target.encode() + b"|" + request.body
            await conn.send(answer(echo, content_type="text/plain"))

    async def one(client: UpstreamClient, server: Server, i: int) -> bytes:
        r = await post(client, server.url(f"/v1/echo/{i}"), b'{"n": %d}' % i)
        assert r.status == 200
        return bytes(r.body)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            bodies = await asyncio.gather(*(one(client, server, i) for i in range(50)))
            return bodies, server.requests, server.connections

    bodies, requests, connections = run(main())
    assert bodies == [b'/v1/echo/%d|{"n": %d}' % (i, i) for i in range(50)]
    assert len(requests) == 50
    assert 1 <= connections <= 50


# -- 9. compressed answers -----------------------------------------------------------------


def test_gzip_answer_comes_back_decoded(run: Any) -> None:
    plain = b'{"text": "' + b"the same words again " * 200 + b'"}'
    packed = gzip.compress(plain)
    reply = answer(packed, extra=(("content-encoding", "gzip"),))

    async def main() -> Any:
        async with Server(each(lambda _: reply)) as server, upstream() as client:
            return await post(client, server.url())

    r = run(main())
    assert len(packed) < len(plain)
    assert r.status == 200
    assert r.body == plain
    assert r.content_type == "application/json"


def test_gzip_stream_comes_back_decoded(run: Any) -> None:
    plain = b"".join(b'data: {"n": %d}\n\n' % i for i in range(300))
    packed = gzip.compress(plain)
    pieces = [packed[i : i + 100] for i in range(0, len(packed), 100)]
    writes = framed(pieces, "chunked")
    writes[0] = head(
        content_type="text/event-stream", chunked=True, extra=(("content-encoding", "gzip"),)
    )

    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(*writes, pause=0.005)

    async def main() -> Any:
        async with Server(handler) as server, upstream() as client:
            stream = await open_stream(client, server.url())
            got = b"".join([c async for c in stream.chunks])
            await stream.aclose()
            return got

    assert run(main()) == plain


# -- 10. header injection ------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"x-note": "a\r\nx-injected: yes"}, id="crlf-in-value"),
        pytest.param({"x-note": "a\nx-injected: yes"}, id="lf-in-value"),
        pytest.param({"x-note\r\nx-injected": "yes"}, id="crlf-in-name"),
    ],
)
def test_line_break_in_a_header_does_not_smuggle_another(run: Any, headers: dict[str, str]) -> None:
    async def main() -> Any:
        async with Server(each(ok)) as server, upstream() as client:
            with contextlib.suppress(Exception):
                await post(client, server.url(), headers=headers)
            after = await post(client, server.url("/v1/after"))  # the client still works
            return after, server.requests

    after, requests = run(main())
    assert after.status == 200
    assert requests and requests[-1].target == "/v1/after"
    for request in requests:
        assert request.values("x-injected") == []
        assert b"\nx-injected" not in request.raw_head.lower()
