"""The configurations the harness gives Patchbay and LiteLLM: one model per scenario
(bench/scenarios.py), each routed to nginx on the path that serves its fixed answer — whole
answers under ``/v1``, streams under ``/sse/v1`` (Gemini streams by method instead)."""

from __future__ import annotations

# Patchbay as shipped (log_level "info": request lines written; auth, rate limits, admission
# and metering on SQLite), one provider per upstream path.
PROVIDERS = """
[[providers]]
name = "bench"
kind = "openai"
base_url = "{up}/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-sse"
kind = "openai"
base_url = "{up}/sse/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-anthropic"
kind = "anthropic"
base_url = "{up}"
api_key = "sk-bench"

[[providers]]
name = "bench-anthropic-sse"
kind = "anthropic"
base_url = "{up}/sse"
api_key = "sk-bench"

[[providers]]
name = "slow"
kind = "openai"
base_url = "{slow}/v1"
api_key = "sk-bench"
"""
MORE_PROVIDERS = """
[[providers]]
name = "bench-responses"
kind = "openai-responses"
base_url = "{up}/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-responses-sse"
kind = "openai-responses"
base_url = "{up}/sse/v1"
api_key = "sk-bench"

[[providers]]
name = "bench-gemini"
kind = "gemini"
base_url = "{up}"
api_key = "sk-bench"
"""
MODEL = """
[[models]]
id = "{id}"
pricing = {{{{ prompt = "0.000001", completion = "0.000002" }}}}
routes = [ {{{{ provider = "{provider}", model = "{upstream}" }}}} ]
"""
# model id -> provider; every scenario's model and the memory run's slow one
ROUTES = {
    "bench-model": "bench",
    "bench-stream": "bench-sse",
    "bench-anthropic-stream": "bench-anthropic-sse",
    "bench-slow": "slow",
}
MORE_ROUTES = {
    "bench-anthropic": "bench-anthropic",
    "bench-responses": "bench-responses",
    "bench-responses-stream": "bench-responses-sse",
    "bench-gemini": "bench-gemini",
    "bench-translated": "bench-anthropic",  # Chat client on an anthropic upstream
    "bench-a2o": "bench",  # Anthropic client on an openai upstream
    "bench-a2o-stream": "bench-sse",
    "bench-r2a": "bench-anthropic",  # Responses client on an anthropic upstream
    "bench-r2a-stream": "bench-anthropic-sse",
}


def _models(routes: dict[str, str]) -> str:
    return "".join(
        MODEL.format(
            id=model,
            provider=provider,
            upstream="slow" if model == "bench-slow" else "bench-upstream",
        )
        for model, provider in routes.items()
    )


PATCHBAY = (
    '[server]\nlog_level = "info"\n'
    + PROVIDERS
    + MORE_PROVIDERS
    + _models({**ROUTES, **MORE_ROUTES})
)
# what gains.py needs of every revision (Chat whole and streamed, Anthropic streamed, Anthropic
# streamed on an openai upstream): kinds and fields older trees know too
GAINS = (
    '[server]\nlog_level = "info"\n'
    + PROVIDERS
    + MORE_PROVIDERS
    + _models(
        {
            **ROUTES,
            "bench-a2o-stream": "bench-sse",
            "bench-responses-stream": "bench-responses-sse",
        }
    )
)


def litellm(up: str, master_key: str) -> str:
    """LiteLLM's proxy with the same models on the same nginx paths (Chat, Messages, Responses
    and Gemini each through LiteLLM's own endpoint for it)."""
    models = {
        "bench-model": ("openai/bench-upstream", f"{up}/v1"),
        "bench-stream": ("openai/bench-upstream", f"{up}/sse/v1"),
        "bench-anthropic-stream": ("anthropic/bench-upstream", f"{up}/sse"),
        "bench-responses-stream": ("openai/bench-upstream", f"{up}/sse/v1"),
        "bench-gemini": ("gemini/bench-upstream", f"{up}/v1beta"),
        "bench-a2o-stream": ("openai/bench-upstream", f"{up}/sse/v1"),
        "bench-r2a-stream": ("anthropic/bench-upstream", f"{up}/sse"),
    }
    entries = "".join(
        f"  - model_name: {name}\n"
        f"    litellm_params:\n"
        f"      model: {model}\n"
        f'      api_base: "{base}"\n'
        f"      api_key: sk-bench\n"
        for name, (model, base) in models.items()
    )
    return (
        "model_list:\n"
        + entries
        + f"general_settings:\n  master_key: {master_key}\n"
        + "litellm_settings:\n  telemetry: false\n"
    )
