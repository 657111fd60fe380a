"""Every error case of the request path answers its status and the client protocol's envelope:
never a 500, never a traceback, never a secret."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fake_openai import FakeOpenAI
from tests.servers import GatewayProcess

MESSAGES = [{"role": "user", "content": "hi"}]


def post(
    gateway: GatewayProcess,
    key: str | None,
    body: object = None,
    *,
    content: bytes | None = None,
    path: str = "/v1/chat/completions",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    hdrs = {"content-type": "application/json", **(headers or {})}
    if key:
        hdrs["authorization"] = f"Bearer {key}"
    return httpx.post(
        gateway.url + path,
        json=body if content is None else None,
        content=content,
        headers=hdrs,
        timeout=30,
    )


def openai_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) == {"type", "message", "code", "param"}
    return error


def test_malformed_json(gateway: GatewayProcess, user_key: str) -> None:
    error = openai_error(
        post(gateway, user_key, content=b'{"model": "echo",'), 400, "invalid_request"
    )
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": 42, "messages": MESSAGES}, "model"),
        ({"model": "echo"}, "messages"),
        ({"model": "echo", "messages": "hi"}, "messages"),
        ({"model": "echo", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "echo", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "echo", "messages": MESSAGES, "temperature": "hot"}, "temperature"),
        ({"model": "echo", "messages": MESSAGES, "max_tokens": -1}, "max_tokens"),
        ({"model": "echo", "messages": MESSAGES, "stream": "yes"}, "stream"),
        (
            {"model": "echo", "messages": MESSAGES, "tools": [{"type": "function"}]},
            "tools[0].function.name",
        ),
        ([1, 2], None),
    ],
)
def test_wrong_types_and_missing_fields(
    gateway: GatewayProcess, user_key: str, body: object, param: str | None
) -> None:
    error = openai_error(post(gateway, user_key, body), 400, "invalid_request")
    assert error["param"] == param


def test_unknown_model(gateway: GatewayProcess, user_key: str) -> None:
    error = openai_error(
        post(gateway, user_key, {"model": "nope", "messages": MESSAGES}), 404, "model_not_found"
    )
    assert error["param"] == "model"


def test_body_too_large(gateway: GatewayProcess, user_key: str) -> None:
    big = b'{"model": "echo", "messages": [{"role": "user", "content": "' + b"x" * 2_000_000
    openai_error(post(gateway, user_key, content=big + b'"}]}'), 413, "request_too_large")
    anthropic = post(gateway, user_key, content=big, path="/v1/messages")
    assert anthropic.status_code == 413
    assert anthropic.json()["type"] == "error"


@pytest.mark.parametrize("key", [None, "pb-not-a-real-key", "garbage"])
def test_missing_or_bad_key(gateway: GatewayProcess, key: str | None) -> None:
    error = openai_error(
        post(gateway, key, {"model": "echo", "messages": MESSAGES}), 401, "invalid_api_key"
    )
    assert error["type"] == "authentication_error"


def test_revoked_key(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "revokee"}).json()
        created = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
        assert post(gateway, created["key"], {"model": "echo", "messages": MESSAGES}).is_success
        assert admin.delete(f"/admin/keys/{created['id']}").json()["revoked"] is True
    error = openai_error(
        post(gateway, created["key"], {"model": "echo", "messages": MESSAGES}),
        401,
        "invalid_api_key",
    )
    assert "revoked" in str(error["message"])


def test_upstream_refused_is_502(gateway: GatewayProcess, user_key: str) -> None:
    error = openai_error(
        post(gateway, user_key, {"model": "unreachable", "messages": MESSAGES}),
        502,
        "upstream_error",
    )
    assert "127.0.0.1" not in str(error["message"])


def test_upstream_timeout_is_504(
    gateway: GatewayProcess, user_key: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.faults.delay_s = 3  # the provider's timeout_s is 2
    openai_error(
        post(gateway, user_key, {"model": "gpt-test", "messages": MESSAGES}),
        504,
        "upstream_timeout",
    )


def test_upstream_5xx_is_502_and_4xx_is_relayed(
    gateway: GatewayProcess, user_key: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.faults.status = 500
    openai_error(
        post(gateway, user_key, {"model": "gpt-test", "messages": MESSAGES}), 502, "upstream_error"
    )
    fake_openai.faults.status = 400
    response = post(gateway, user_key, {"model": "gpt-test", "messages": MESSAGES})
    assert response.status_code == 400, response.text
    # a same-protocol upstream's 4xx reaches the client as the upstream sent it
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] is None
    assert "injected failure" in str(error["message"])


def test_upstream_rejecting_gateway_key_is_502(
    gateway: GatewayProcess, user_key: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.api_key = "sk-rotated"
    try:
        error = openai_error(
            post(gateway, user_key, {"model": "gpt-test", "messages": MESSAGES}),
            502,
            "upstream_error",
        )
    finally:
        fake_openai.api_key = "sk-upstream-secret-4242"
    assert "credentials" in str(error["message"])


def test_stream_cut_mid_way_ends_with_error_event(
    gateway: GatewayProcess, user_key: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.faults.drop_after_chunks = 2
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=user_key, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-test", stream=True, messages=[{"role": "user", "content": "a b c d e f"}]
    )
    with pytest.raises(openai.APIError):
        list(stream)


def test_unknown_route_and_method(gateway: GatewayProcess, user_key: str) -> None:
    missing = httpx.get(gateway.url + "/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(gateway.url + "/v1/chat/completions")
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_log_has_no_traceback_or_secret(
    gateway: GatewayProcess, fake_openai: FakeOpenAI, user_key: str
) -> None:
    log = gateway.log()
    assert "Traceback" not in log
    assert fake_openai.api_key not in log and user_key not in log
    assert gateway.admin_key not in log
