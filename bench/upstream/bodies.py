"""The fixed upstream answers nginx serves (written into its config by the harness)."""

from __future__ import annotations

import json

CHAT = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1730000000,
        "model": "bench-upstream",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench."},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }
)


def _chunk(delta: dict, finish: str | None = None) -> str:
    return (
        "data: "
        + json.dumps(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": 1730000000,
                "model": "bench-upstream",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )
        + "\n\n"
    )


CHAT_SSE = (
    _chunk({"role": "assistant", "content": ""})
    + "".join(_chunk({"content": w}) for w in ["Hello", " from", " the", " bench."])
    + _chunk({}, "stop")
    + "data: "
    + json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": "bench-upstream",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
        }
    )
    + "\n\n"
    + "data: [DONE]\n\n"
)

ANTHROPIC = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench-upstream",
        "content": [{"type": "text", "text": "Hello from the bench."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6},
    }
)


GEMINI = json.dumps(
    {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "Hello from the bench."}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18},
        "modelVersion": "bench-upstream",
        "responseId": "bench",
    }
)


def nginx_conf(port: int, workdir: str) -> str:
    def literal(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/nginx-body;
  proxy_temp_path {workdir}/nginx-proxy;
  fastcgi_temp_path {workdir}/nginx-fastcgi;
  uwsgi_temp_path {workdir}/nginx-uwsgi;
  scgi_temp_path {workdir}/nginx-scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location = /v1/chat/completions {{
      default_type application/json;
      return 200 {literal(CHAT)};
    }}
    location = /sse/v1/chat/completions {{
      default_type text/event-stream;
      return 200 {literal(CHAT_SSE)};
    }}
    location = /v1/messages {{
      default_type application/json;
      return 200 {literal(ANTHROPIC)};
    }}
    location = /v1beta/models/bench-upstream:generateContent {{
      default_type application/json;
      return 200 {literal(GEMINI)};
    }}
  }}
}}
"""
