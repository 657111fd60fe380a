"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI
from tests.integration.clients import KINDS
from tests.servers import GatewayProcess, start_gateway


def config(fake: FakeOpenAI) -> str:
    lines = []
    for kind in KINDS[:-1]:
        base = fake.base_url if kind.startswith("openai") else fake.root_url
        lines += [
            "[[providers]]",
            f'name = "p-{kind}"',
            f'kind = "{kind}"',
            f'base_url = "{base}"',
            f'api_key = "{fake.api_key}"',
            "",
        ]
    for kind in KINDS:
        provider = "echo" if kind == "echo" else f"p-{kind}"
        lines += [
            "[[models]]",
            f'id = "via-{kind}"',
            'pricing = { prompt = "0.00001", completion = "0.00002" }',
            f'routes = [ {{ provider = "{provider}", model = "up-{kind}" }} ]',
            "",
        ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[tuple[GatewayProcess, str]]:
    gateway = start_gateway(tmp_path_factory.mktemp("matrix"), config=config(fake_openai))
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "m", "points": 10**9}).json()
        key = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "k", "rpm": 100000}
        ).json()["key"]
    yield gateway, key
    gateway.stop()
