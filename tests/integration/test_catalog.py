"""The model catalog against the real server: three list shapes via the official SDKs, per-key
views, ETag/304, and one predicate for listing and calling."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from tests.servers import GatewayProcess


def make_key(gateway: GatewayProcess, account: str, **fields: object) -> str:
    with gateway.admin() as admin:
        found = [a for a in admin.get("/admin/accounts").json()["data"] if a["name"] == account]
        acct = (
            found[0]
            if found
            else admin.post("/admin/accounts", json={"name": account, "points": 1000}).json()
        )
        key = admin.post(f"/admin/accounts/{acct['id']}/keys", json={"name": "k", **fields})
        assert key.status_code == 201, key.text
        return str(key.json()["key"])


@pytest.fixture(scope="module")
def keys(gateway: GatewayProcess) -> dict[str, str]:
    return {
        "all": make_key(gateway, "cat-a"),
        "echo-only": make_key(gateway, "cat-b", allowed_models=["echo"]),
        "gpt-glob": make_key(gateway, "cat-c", allowed_models=["gpt-*"]),
    }


def ids(response: httpx.Response) -> list[str]:
    return [m["id"] for m in response.json()["data"]]


def test_openai_shape_has_every_seed_field(gateway: GatewayProcess) -> None:
    response = httpx.get(gateway.url + "/v1/models")
    assert response.status_code == 200
    model = next(m for m in response.json()["data"] if m["id"] == "gpt-test")
    assert {
        "id",
        "object",
        "created",
        "description",
        "owned_by",
        "permission",
        "root",
        "parent",
        "architecture",
        "pricing",
        "metadata",
    } <= set(model)
    assert model["created"] > 10**12  # milliseconds
    assert model["architecture"] == {
        "input_modalities": ["text"],
        "output_modalities": ["text"],
        "modality": "text->text",
    }
    assert model["pricing"] == {
        "prompt": "0.000001",
        "completion": "0.000002",
        "image": None,
        "request": None,
    }
    meta = model["metadata"]
    for field in (
        "display_name",
        "context_window",
        "max_output_tokens",
        "input_modalities",
        "supported_reasoning_levels",
        "default_reasoning_level",
        "supports_parallel_tool_calls",
        "priority",
        "supported_in_api",
    ):
        assert field in meta
    echo = next(m for m in response.json()["data"] if m["id"] == "echo")
    assert echo["pricing"] is None


def test_views_differ_per_key(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    def listed(key: str) -> set[str]:
        return set(
            ids(httpx.get(gateway.url + "/v1/models", headers={"authorization": f"Bearer {key}"}))
        )

    everything = listed(keys["all"])
    assert {"echo", "gpt-test"} <= everything
    assert listed(keys["echo-only"]) == {"echo"}
    assert listed(keys["gpt-glob"]) == {"gpt-test"}
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=keys["gpt-glob"], max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "x"}])


def test_invalid_key_gets_401_not_the_anonymous_list(gateway: GatewayProcess) -> None:
    response = httpx.get(gateway.url + "/v1/models", headers={"authorization": "Bearer pb-nope"})
    assert response.status_code == 401
    gemini = httpx.get(gateway.url + "/v1/models?key=pb-nope")
    assert gemini.status_code == 401 and gemini.json()["error"]["status"] == "UNAUTHENTICATED"


def test_etag_and_304(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    headers = {"authorization": f"Bearer {keys['all']}"}
    first = httpx.get(gateway.url + "/v1/models", headers=headers)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = httpx.get(gateway.url + "/v1/models", headers={**headers, "if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    other = httpx.get(
        gateway.url + "/v1/models",
        headers={"authorization": f"Bearer {keys['echo-only']}", "if-none-match": etag},
    )
    assert other.status_code == 200  # a different view has a different tag
    with gateway.admin() as admin:
        admin.post(
            "/admin/models",
            json={"id": "gpt-new", "routes": [{"provider": "echo", "model": "echo"}]},
        )
    changed = httpx.get(gateway.url + "/v1/models", headers={**headers, "if-none-match": etag})
    assert changed.status_code == 200 and "gpt-new" in ids(changed)
    with gateway.admin() as admin:
        admin.delete("/admin/models/gpt-new")


def test_one_model_and_404(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    headers = {"authorization": f"Bearer {keys['all']}"}
    one = httpx.get(gateway.url + "/v1/models/gpt-test", headers=headers)
    assert one.json()["id"] == "gpt-test" and one.json()["object"] == "model"
    missing = httpx.get(gateway.url + "/v1/models/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    hidden = httpx.get(
        gateway.url + "/v1/models/gpt-test",
        headers={"authorization": f"Bearer {keys['echo-only']}"},
    )
    assert hidden.status_code == 404


def test_openai_sdk_lists(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    client = openai.OpenAI(base_url=gateway.openai_base, api_key=keys["all"])
    listed = {m.id for m in client.models.list()}
    assert {"echo", "gpt-test"} <= listed
    assert client.models.retrieve("echo").id == "echo"


def test_anthropic_sdk_lists(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=keys["echo-only"])
    page = client.models.list()
    assert [m.id for m in page.data] == ["echo"]
    assert page.data[0].type == "model" and page.data[0].display_name
    raw = httpx.get(
        gateway.url + "/v1/models",
        headers={"x-api-key": keys["all"], "anthropic-version": "2023-06-01"},
    ).json()
    assert raw["has_more"] is False and raw["first_id"] == raw["data"][0]["id"]
    bearer = httpx.get(
        gateway.url + "/v1/models",
        headers={"authorization": f"Bearer {keys['all']}", "anthropic-version": "2023-06-01"},
    ).json()
    assert "has_more" in bearer  # anthropic-version selects the shape whatever carries the key


def test_gemini_sdk_lists(gateway: GatewayProcess, keys: dict[str, str]) -> None:
    client = genai.Client(
        api_key=keys["gpt-glob"], http_options=types.HttpOptions(base_url=gateway.url)
    )
    models = list(client.models.list())
    assert [m.name for m in models] == ["models/gpt-test"]
    assert models[0].supported_actions and "generateContent" in models[0].supported_actions
    raw = httpx.get(gateway.url + f"/v1/models?key={keys['all']}").json()
    assert all(m["name"].startswith("models/") for m in raw["models"])
    anonymous = httpx.get(gateway.url + "/v1beta/models").json()
    assert "models/echo" in [m["name"] for m in anonymous["models"]]


def test_ordered_by_priority_then_id(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        for model_id, priority in (("zz-first", 10), ("aa-second", 5), ("bb-second", 5)):
            created = admin.post(
                "/admin/models",
                json={
                    "id": model_id,
                    "priority": priority,
                    "routes": [{"provider": "echo", "model": "echo"}],
                },
            )
            assert created.status_code == 201, created.text
    listed = ids(httpx.get(gateway.url + "/v1/models"))
    assert listed[:3] == ["zz-first", "aa-second", "bb-second"]
    rest = listed[3:]
    assert rest == sorted(rest)  # priority 0: by id
    with gateway.admin() as admin:
        for model_id in ("zz-first", "aa-second", "bb-second"):
            admin.delete(f"/admin/models/{model_id}")
