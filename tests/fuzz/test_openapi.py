"""``/openapi.json`` fuzzed with schemathesis against the real server on loopback: every
operation of the document, a bounded number of positive and negative examples each from a
fixed seed, with a funded key and every model on the ``echo`` kind (nothing leaves the
machine). No answer is a 5xx (501 only where the document says the path is not implemented),
and every answer matches the document: its status, its content type, its body's schema."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from patchbay.api.openapi import document
from patchbay.app import create_app
from patchbay.settings import Settings
from tests.servers import GatewayProcess, start_gateway

# per operation, positive and negative together; fixed in the suite, vary to explore
EXAMPLES = int(os.environ.get("PATCHBAY_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("PATCHBAY_FUZZ_SEED", "15"))
LOOPBACK_UPSTREAM = "http://127.0.0.1:9/v1"  # refused at once: nothing fuzzed leaves the machine
CONFIG = """
[server]
max_body_bytes = 1048576

[[models]]
id = "echo-priced"
pricing = { prompt = "0.00001", completion = "0.00002" }
routes = [ { provider = "echo", model = "echo" } ]
"""
METHODS = ("get", "post", "put", "patch", "delete")


def _labels() -> list[str]:
    doc = document(create_app(Settings(data_dir=Path("/nonexistent-not-opened"))))
    return [
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    ]


LABELS = _labels()


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GatewayProcess, str, Any]]:
    gateway = start_gateway(tmp_path_factory.mktemp("fuzz"), config=CONFIG)
    with gateway.admin() as admin:
        account = admin.post("/admin/accounts", json={"name": "fuzz", "points": 10**9}).json()
        key = admin.post(
            f"/admin/accounts/{account['id']}/keys", json={"name": "fuzz", "rpm": 10**6}
        ).json()
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    yield gateway, key["key"], schema
    gateway.stop()


def _pick(case: Any) -> bool:
    """A fixed half of the cases calls a model that exists (so the call reaches the decoders
    and echo), the other half the name the fuzzer made up."""
    return zlib.crc32(repr((case.body, case.path_parameters)).encode()) % 2 == 0


def _contain(value: Any) -> None:
    """Every upstream address a fuzzed provider or bot names points at a refused loopback port."""
    if isinstance(value, dict):
        for name in list(value):
            if name == "base_url":
                value[name] = LOOPBACK_UPSTREAM
            else:
                _contain(value[name])
    elif isinstance(value, list):
        for item in value:
            _contain(item)


def _prepare(case: Any, admin_key: str, user_key: str) -> dict[str, str]:
    path = case.operation.path
    if isinstance(case.body, dict):
        _contain(case.body)
        if "model" in case.body and _pick(case):
            case.body["model"] = "echo-priced"
    params = case.path_parameters or {}
    if "model" in params and _pick(case):
        params["model"] = "echo-priced"
    if path == "/admin/keys/{key_id}" and str(params.get("key_id")) in ("1", "2"):
        params["key_id"] = "999999"  # the admin's and the fuzzing key stay usable
    key = admin_key if path.startswith("/admin") else user_key
    return {"authorization": f"Bearer {key}"}


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS)
def test_operation_answers_no_5xx_and_matches_the_document(
    label: str, fuzzed: tuple[GatewayProcess, str, Any]
) -> None:
    gateway, user_key, schema = fuzzed
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served document"
    unimplemented = "/files" in label or "/fine_tuning" in label
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        headers = _prepare(case, gateway.admin_key, user_key)
        response = case.call(base_url=gateway.url, headers=headers, timeout=30)
        allowed = {501} if unimplemented else set()
        assert response.status_code < 500 or response.status_code in allowed, (
            f"{response.status_code} on {case.as_curl_command()}:\n{response.text[:500]}"
        )
        case.validate_response(
            response,
            checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
        )

    run()


def test_the_served_document_covers_every_public_endpoint(
    fuzzed: tuple[GatewayProcess, str, Any],
) -> None:
    gateway, _, _ = fuzzed
    doc = httpx.get(f"{gateway.url}/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/responses/{response_id}",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1beta/models/{model}:generateContent",
        "/v1beta/models/{model}:streamGenerateContent",
        "/v1/models/{model}:generateContent",
        "/v1beta/models/{model}:countTokens",
        "/v1beta/models/{model}:embedContent",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
        "/v1/audio/speech",
        "/v1/rerank",
        "/v1/videos",
        "/v1/videos/{video_id}/content",
        "/v1/models",
        "/v1beta/models",
        "/usage/current_balance",
        "/usage/points_history",
        "/usage/redeem",
        "/bots",
        "/admin/accounts",
        "/admin/keys/{key_id}",
        "/admin/routes",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    for item in paths.values():
        for method, operation in item.items():
            if method in METHODS:
                assert "422" not in operation["responses"]  # the gateway answers 400
    chat = paths["/v1/chat/completions"]["post"]["responses"]
    assert chat["400"]["content"]["application/json"]["schema"]["$ref"].endswith("OpenAIError")
    anthropic = paths["/v1/messages"]["post"]["responses"]
    assert anthropic["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AnthropicError"
    )


def test_the_server_logged_no_unhandled_error(fuzzed: tuple[GatewayProcess, str, Any]) -> None:
    """Runs after the fuzzing above (file order): nothing it sent reached a bare exception."""
    gateway, _, _ = fuzzed
    log = gateway.log()
    lines = [line for line in log.splitlines() if "unhandled" in line or "Traceback" in line]
    assert not lines, "\n".join(lines[:20])


def test_every_route_the_app_serves_is_in_the_document() -> None:
    """A new endpoint fails here until ``api/openapi_paths.json`` (or its router) describes it
    (the routers' own routes are generated from their signatures)."""
    from patchbay.app import serving_app
    from patchbay.settings import Settings as Config

    served = serving_app(Config(data_dir=Path("/nonexistent-not-opened")))
    paths = set(document(served.app)["paths"])  # type: ignore[arg-type]
    routes = set(served.exact)  # the hot paths
    for route in served.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", None)  # plain routes (routers have no path here)
        if path and not path.startswith(("/ui", "/openapi.json")):
            routes.add(path.replace(":path}", "}"))
    assert not sorted(routes - paths), sorted(routes - paths)
    for prefix in ("/v1beta/models/{model}:", "/v1/models/{model}:"):
        for method in ("generateContent", "streamGenerateContent", "countTokens",
                       "embedContent", "batchEmbedContents"):  # fmt: skip
            assert prefix + method in paths
