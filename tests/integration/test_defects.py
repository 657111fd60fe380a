"""The small defects found while trying the gateway (issue 15), each shown fixed against the real
server: a key's ``last_used_at``, 404 for unknown key ids, seed-003 booleans, one RFC 3339 form,
a non-JSON admin body, echo's empty answer, a role that is not a string."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import openai
import pytest

from tests.servers import GatewayProcess, start_gateway

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
CONFIG = """
[[models]]
id = "echo-priced"
pricing = { prompt = "0.00001", completion = "0.00002" }
routes = [ { provider = "echo", model = "echo" } ]

[[models]]
id = "echo-flags"
supports_reasoning_summaries = true
prefer_websockets = "yes"
routes = [ { provider = "echo", model = "echo" } ]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str, int]]:
    data_dir: Path = tmp_path_factory.mktemp("defects")
    gateway = start_gateway(data_dir, config=CONFIG)
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "d", "points": 10**6}).json()
        key = admin.post(f"/admin/accounts/{account['id']}/keys", json={"name": "k"}).json()
    yield gateway, key["key"], key["id"]
    gateway.stop()


def _key_row(gateway: GatewayProcess, key_id: int) -> dict[str, object]:
    with gateway.admin() as admin:
        rows = admin.get("/admin/keys").json()["data"]
    return next(r for r in rows if r["id"] == key_id)


def test_last_used_at_is_set_when_a_key_is_used(served: tuple[GatewayProcess, str, int]) -> None:
    gateway, key, key_id = served
    assert _key_row(gateway, key_id)["last_used_at"] is None
    before = datetime.now(UTC)
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}])
    deadline = time.monotonic() + 10  # written behind the request, within the flush period
    used = None
    while time.monotonic() < deadline and used is None:
        used = _key_row(gateway, key_id)["last_used_at"]
        time.sleep(0.3)
    assert isinstance(used, str), "last_used_at was never set"
    assert RFC3339_UTC.match(used), used
    assert datetime.fromisoformat(used) >= before.replace(microsecond=0)


@pytest.mark.parametrize("key_id", ["99999", str(2**40), "0", "-1", "abc", "1e3"])
def test_revoking_an_unknown_key_is_404(
    served: tuple[GatewayProcess, str, int], key_id: str
) -> None:
    gateway, _, _ = served
    with gateway.admin() as admin:
        response = admin.delete(f"/admin/keys/{key_id}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_account_ids_are_404(served: tuple[GatewayProcess, str, int]) -> None:
    gateway, _, _ = served
    with gateway.admin() as admin:
        for ref in ("99999", str(2**63), str(2**70), "-5"):
            response = admin.get(f"/admin/accounts/{ref}")
            assert response.status_code in (400, 404), (ref, response.text)
            response = admin.post(f"/admin/accounts/{ref}/credit", json={"points": 5})
            assert response.status_code in (400, 404), (ref, response.text)


def test_seed_003_booleans_are_booleans(served: tuple[GatewayProcess, str, int]) -> None:
    gateway, key, _ = served
    flags = (
        "supports_reasoning_summaries",
        "support_verbosity",
        "prefer_websockets",
        "supports_parallel_tool_calls",
        "supported_in_api",
    )
    models = httpx.get(
        f"{gateway.openai_base}/models", headers={"authorization": f"Bearer {key}"}
    ).json()["data"]
    by_id = {m["id"]: m["metadata"] for m in models}
    for metadata in by_id.values():
        for flag in flags:
            assert isinstance(metadata[flag], bool), (flag, metadata)
    plain = by_id["echo-priced"]
    assert plain["supports_reasoning_summaries"] is False
    assert plain["support_verbosity"] is False and plain["prefer_websockets"] is False
    assert plain["supported_in_api"] is True
    assert by_id["echo-flags"]["supports_reasoning_summaries"] is True  # configured
    assert by_id["echo-flags"]["prefer_websockets"] is False  # not a boolean: the default


def test_every_time_is_one_rfc3339_form(served: tuple[GatewayProcess, str, int]) -> None:
    gateway, _, _ = served
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "times"}).json()
        key = admin.post(
            f"/admin/accounts/{account['id']}/keys",
            json={"name": "t", "expires_at": "2099-01-02T03:04:05+02:00"},
        ).json()
        listed = admin.get("/admin/accounts").json()["data"]
        keys = admin.get("/admin/keys").json()["data"]
        codes = admin.post("/admin/redemptions", json={"points": 5, "count": 1}).json()
    stamps = [account["created_at"], key["created_at"], key["expires_at"]]
    stamps += [a["created_at"] for a in listed] + [k["created_at"] for k in keys]
    stamps += [c["created_at"] for c in codes["data"]]
    for stamp in stamps:
        assert RFC3339_UTC.match(stamp), stamp
    assert key["expires_at"] == "2099-01-02T01:04:05.000000Z"


def test_a_form_encoded_admin_body_is_told_to_send_json(
    served: tuple[GatewayProcess, str, int],
) -> None:
    gateway, _, _ = served
    with gateway.admin() as admin:
        response = admin.post("/admin/accounts", data={"name": "form", "points": "3"})
        empty = admin.post("/admin/accounts", content=b"")
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "JSON" in message and "dictionary" not in message, message
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_request"


def test_echo_without_user_text_answers_an_empty_string(
    served: tuple[GatewayProcess, str, int],
) -> None:
    gateway, key, _ = served
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=key, max_retries=0)
    for messages in (
        [{"role": "assistant", "content": "x"}],
        [{"role": "user", "content": ""}],
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": []}],
    ):
        answer = client.chat.completions.create(model="echo", messages=messages)  # type: ignore[arg-type]
        assert answer.choices[0].message.content == "", messages
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    called = client.chat.completions.create(
        model="echo",
        messages=[{"role": "user", "content": "!tool f"}],
        tools=[tool],  # type: ignore[list-item]
    )
    assert called.choices[0].message.content is None  # null content: tool calls only
    assert called.choices[0].message.tool_calls


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": {}, "content": ""}, "messages[0].role"),
        ({"role": [], "content": "x"}, "messages[0].role"),
        ({"role": 3, "content": "x"}, "messages[0].role"),
        ({"role": "user", "content": {}}, "messages[0].content"),
        ({"role": "user", "content": [{"type": "text", "text": {}}]}, None),
    ],
)
def test_a_malformed_message_is_a_400_never_a_500(
    served: tuple[GatewayProcess, str, int], message: dict[str, object], param: str | None
) -> None:
    gateway, key, _ = served
    response = httpx.post(
        f"{gateway.openai_base}/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "echo-priced", "messages": [message]},
        timeout=30,
    )
    if param is None:  # the API accepts it; the gateway must too
        assert response.status_code in (200, 400), response.text
        return
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/admin/accounts", {"name": "big", "points": 11190668659631444721664}, "points"),
        ("/admin/accounts/1/credit", {"points": -(2**70)}, "points"),
        ("/admin/accounts/1/keys", {"name": "k", "rpm": 2**40}, "rpm"),
        ("/admin/accounts/1/keys", {"name": "k", "tpm": 2**31}, "tpm"),
        ("/admin/accounts/1/keys", {"name": "k", "max_points": 2**64}, "max_points"),
    ],
)
def test_numbers_past_what_is_stored_are_a_400(
    served: tuple[GatewayProcess, str, int], path: str, body: dict[str, object], param: str
) -> None:
    """Found by schemathesis: such numbers reached the database and answered 500."""
    gateway, _, _ = served
    with gateway.admin() as admin:
        response = admin.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
