"""API bots (seed 004) against the real server: CRUD, catalog visibility, routing, address rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.fake_openai import FakeOpenAI
from tests.integration.test_catalog import make_key
from tests.servers import GatewayProcess, start_gateway


def bot_body(fake: FakeOpenAI, handle: str, private: bool = False) -> dict[str, object]:
    return {
        "handle": handle,
        "description": "my bot",
        "is_private": private,
        "api_bot_settings": {
            "base_url": fake.base_url,
            "model_name": "bot-upstream-model",
            "api_key": fake.api_key,
            "api_type": "chat_completions_api",
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
            "supported_features": ["tools"],
            "pricing": {"prompt": "0.000002", "completion": "0.000004"},
        },
        "parameter_controls": {"api_version": "2", "sections": []},
    }


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """A gateway whose operator allows private upstreams, so bots may use the loopback fake."""
    process = start_gateway(
        tmp_path_factory.mktemp("open"), env={"PATCHBAY_ALLOW_PRIVATE_UPSTREAMS": "true"}
    )
    yield process
    process.stop()


def call(
    gateway: GatewayProcess, key: str, method: str, path: str, body: object = None
) -> httpx.Response:
    return httpx.request(
        method,
        gateway.url + path,
        json=body,
        timeout=30,
        headers={"authorization": f"Bearer {key}"},
    )


def test_bot_crud_and_write_only_key(open_gateway: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    owner = make_key(open_gateway, "bot-owner")
    created = call(open_gateway, owner, "POST", "/bots", bot_body(fake_openai, "Crud-Bot"))
    assert created.status_code == 201, created.text
    settings = created.json()["api_bot_settings"]
    assert "api_key" not in settings and settings["model_name"] == "bot-upstream-model"
    assert settings["pricing"] == {"prompt": "0.000002", "completion": "0.000004"}
    assert call(open_gateway, owner, "GET", "/bots").json()["bots"][0]["handle"] == "Crud-Bot"
    patched = call(
        open_gateway,
        owner,
        "PATCH",
        "/bots/Crud-Bot",
        {"description": "new", "api_bot_settings": {"context_size": 8000}},
    ).json()
    assert patched["description"] == "new" and patched["is_private"] is False
    assert patched["api_bot_settings"]["context_size"] == 8000
    assert patched["api_bot_settings"]["model_name"] == "bot-upstream-model"  # merged
    assert patched["parameter_controls"] == {"api_version": "2", "sections": []}
    for path in open_gateway.data_dir.glob("patchbay.db*"):
        assert fake_openai.api_key.encode() not in path.read_bytes()
    assert call(open_gateway, owner, "DELETE", "/bots/Crud-Bot").status_code == 200
    assert call(open_gateway, owner, "GET", "/bots/Crud-Bot").status_code == 404


def test_bot_is_a_callable_model(open_gateway: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    owner = make_key(open_gateway, "bot-owner")
    stranger = make_key(open_gateway, "stranger")
    assert (
        call(open_gateway, owner, "POST", "/bots", bot_body(fake_openai, "public-bot")).status_code
        == 201
    )
    assert (
        call(
            open_gateway, owner, "POST", "/bots", bot_body(fake_openai, "secret-bot", private=True)
        ).status_code
        == 201
    )

    def listed(key: str | None) -> set[str]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        data = httpx.get(open_gateway.url + "/v1/models", headers=headers).json()["data"]
        return {m["id"] for m in data}

    assert {"public-bot", "secret-bot"} <= listed(owner)
    assert "public-bot" in listed(stranger) and "secret-bot" not in listed(stranger)
    assert "public-bot" in listed(None) and "secret-bot" not in listed(None)
    bot_model = next(
        m
        for m in httpx.get(open_gateway.url + "/v1/models").json()["data"]
        if m["id"] == "public-bot"
    )
    assert bot_model["architecture"]["input_modalities"] == ["text", "image"]
    assert bot_model["pricing"]["prompt"] == "0.000002"

    mine = openai.OpenAI(base_url=open_gateway.openai_base, api_key=owner, max_retries=0)
    answer = mine.chat.completions.create(
        model="secret-bot", messages=[{"role": "user", "content": "to my bot"}]
    )
    assert answer.choices[0].message.content == "You said: to my bot"
    seen = fake_openai.requests[-1]
    assert seen.body["model"] == "bot-upstream-model"
    assert seen.headers["Authorization"] == f"Bearer {fake_openai.api_key}"
    theirs = openai.OpenAI(base_url=open_gateway.openai_base, api_key=stranger, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        theirs.chat.completions.create(
            model="secret-bot", messages=[{"role": "user", "content": "peek"}]
        )
    assert call(open_gateway, stranger, "GET", "/v1/models/secret-bot").status_code == 404
    assert call(open_gateway, stranger, "GET", "/bots/secret-bot").status_code == 404
    assert call(open_gateway, stranger, "DELETE", "/bots/secret-bot").status_code == 404
    public = theirs.chat.completions.create(
        model="public-bot", messages=[{"role": "user", "content": "hello"}]
    )
    assert public.choices[0].message.content == "You said: hello"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v1",
        "http://localhost/v1",
        "http://10.1.2.3/v1",
        "http://169.254.169.254/latest",
        "http://[::1]/v1",
        "http://192.168.0.10/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "ftp://example.com/v1",
        "not a url",
    ],
)
def test_refused_addresses_when_saved(
    gateway: GatewayProcess, fake_openai: FakeOpenAI, url: str
) -> None:
    key = make_key(gateway, "ssrf")
    body = bot_body(fake_openai, "ssrf-bot")
    body["api_bot_settings"]["base_url"] = url  # type: ignore[index]
    response = call(gateway, key, "POST", "/bots", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "api_bot_settings.base_url"


def test_refused_again_when_connecting(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    permissive = start_gateway(tmp_path, env={"PATCHBAY_ALLOW_PRIVATE_UPSTREAMS": "true"})
    try:
        key = make_key(permissive, "mover")
        assert (
            call(permissive, key, "POST", "/bots", bot_body(fake_openai, "moved-bot")).status_code
            == 201
        )
    finally:
        permissive.stop()
    strict = start_gateway(tmp_path)  # same database, private upstreams now refused
    try:
        client = openai.OpenAI(base_url=strict.openai_base, api_key=key, max_retries=0)
        with pytest.raises(openai.BadRequestError, match="non-public"):
            client.chat.completions.create(
                model="moved-bot", messages=[{"role": "user", "content": "x"}]
            )
    finally:
        strict.stop()


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"handle": "a"}, 400, "handle"),
        ({"handle": "bad handle!"}, 400, "handle"),
        ({"handle": "echo"}, 409, "handle"),
        ({"description": "x" * 6000}, 400, "description"),
        ({"is_private": "yes"}, 400, "is_private"),
        (
            {"api_bot_settings": {"input_modalities": ["smell"]}},
            400,
            "api_bot_settings.input_modalities",
        ),
        (
            {"api_bot_settings": {"output_modalities": ["image"]}},
            400,
            "api_bot_settings.output_modalities",
        ),
        ({"api_bot_settings": {"pricing": {"prompt": "cheap"}}}, 400, "api_bot_settings.pricing"),
        ({"api_bot_settings": {"api_type": "soap"}}, 400, "api_bot_settings.api_type"),
        ({"parameter_controls": {"api_version": "1"}}, 400, "parameter_controls"),
    ],
)
def test_bad_bot_input(
    open_gateway: GatewayProcess,
    fake_openai: FakeOpenAI,
    change: dict[str, object],
    status: int,
    param: str,
) -> None:
    key = make_key(open_gateway, "bad-input")
    body = bot_body(fake_openai, "valid-handle")
    for name, value in change.items():
        if name == "api_bot_settings":
            body[name] = {**body[name], **value}  # type: ignore[dict-item]
        else:
            body[name] = value
    response = call(open_gateway, key, "POST", "/bots", body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_duplicate_handle_is_409(open_gateway: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    key = make_key(open_gateway, "dup")
    assert (
        call(open_gateway, key, "POST", "/bots", bot_body(fake_openai, "dup-bot")).status_code
        == 201
    )
    other = make_key(open_gateway, "dup-2")
    assert (
        call(open_gateway, other, "POST", "/bots", bot_body(fake_openai, "dup-bot")).status_code
        == 409
    )


def test_responses_api_bot_routes_through_responses(
    open_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    owner = make_key(open_gateway, "responses-owner")
    body = bot_body(fake_openai, "resp-bot")
    body["api_bot_settings"]["api_type"] = "responses_api"  # type: ignore[index]
    assert call(open_gateway, owner, "POST", "/bots", body).status_code == 201
    client = openai.OpenAI(base_url=open_gateway.openai_base, api_key=owner, max_retries=0)
    answer = client.chat.completions.create(
        model="resp-bot", messages=[{"role": "user", "content": "over responses"}]
    )
    assert answer.choices[0].message.content == "You said: over responses"
    seen = fake_openai.requests[-1]
    assert seen.path == "/v1/responses" and seen.body["model"] == "bot-upstream-model"


def test_bot_is_billed_at_its_pricing(
    open_gateway: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    owner = make_key(open_gateway, "billed-owner")
    with open_gateway.admin() as admin:
        accounts = admin.get("/admin/accounts").json()["data"]
        account = next(a for a in accounts if a["name"] == "billed-owner")
        admin.post(f"/admin/accounts/{account['id']}/credit", json={"points": 100_000})
    assert (
        call(open_gateway, owner, "POST", "/bots", bot_body(fake_openai, "billed-bot")).status_code
        == 201
    )
    client = openai.OpenAI(base_url=open_gateway.openai_base, api_key=owner, max_retries=0)
    answer = client.chat.completions.create(
        model="billed-bot", messages=[{"role": "user", "content": "bill me"}]
    )
    usage = answer.usage
    assert usage is not None
    # bot pricing: prompt 0.000002, completion 0.000004 USD per token → 0.2 and 0.4 points
    expected = -(-(usage.prompt_tokens * 2 + usage.completion_tokens * 4) // 10)
    assert (usage.model_extra or {})["cost_points"] == expected
    history = call(open_gateway, owner, "GET", "/usage/points_history").json()["data"]
    assert history[0]["bot"] == "billed-bot" and history[0]["cost_points"] == expected
