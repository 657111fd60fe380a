"""The fixed upstream answers nginx serves (written into its config by the harness): a whole
answer and an SSE stream for each upstream protocol, shaped as the official APIs send them and
checked against the SDKs' own types at start-up (bench/shapes.py).

Paths: ``/v1/...`` answers whole, ``/sse/v1/...`` streams (the harness's streaming providers
point there); Gemini's stream has its own method, ``:streamGenerateContent`` (SSE, CRLF-framed
as Google sends it)."""

from __future__ import annotations

import json
from typing import Any

TEXT = "Hello from the bench."
WORDS = ["Hello", " from", " the", " bench."]
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 6


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _sse(data: dict[str, Any], event: str | None = None, end: str = "\n\n") -> str:
    return (f"event: {event}\n" if event else "") + "data: " + _dumps(data) + end


# ---------- OpenAI Chat Completions
CHAT = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1730000000,
        "model": "bench-upstream",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": TEXT},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }
)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
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
    + "".join(_chunk({"content": w}) for w in WORDS)
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

# ---------- OpenAI Responses
_MESSAGE = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": TEXT, "annotations": [], "logprobs": []}],
}
_RESPONSE_USAGE = {
    "input_tokens": PROMPT_TOKENS,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": COMPLETION_TOKENS,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
}


def _response(status: str, output: list[dict[str, Any]], usage: Any) -> dict[str, Any]:
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1730000000,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "bench-upstream",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


RESPONSES = _dumps(_response("completed", [_MESSAGE], _RESPONSE_USAGE))


def _responses_events() -> list[dict[str, Any]]:
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    where = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    pending = {**_MESSAGE, "status": "in_progress", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [], None)},
        {"type": "response.in_progress", "response": _response("in_progress", [], None)},
        {"type": "response.output_item.added", "output_index": 0, "item": pending},
        {"type": "response.content_part.added", **where, "part": part},
        *(
            {"type": "response.output_text.delta", **where, "delta": w, "logprobs": []}
            for w in WORDS
        ),
        {"type": "response.output_text.done", **where, "text": TEXT, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": {**part, "text": TEXT}},
        {"type": "response.output_item.done", "output_index": 0, "item": _MESSAGE},
        {
            "type": "response.completed",
            "response": _response("completed", [_MESSAGE], _RESPONSE_USAGE),
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


RESPONSES_SSE = "".join(_sse(e, e["type"]) for e in _responses_events())

# ---------- Anthropic Messages
ANTHROPIC = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench-upstream",
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 6},
    }
)
_START_USAGE = {
    "input_tokens": PROMPT_TOKENS,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 1,
    "service_tier": "standard",
}
_ANTHROPIC_EVENTS: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "bench-upstream",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _START_USAGE,
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    *(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}
        for w in WORDS
    ),
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": COMPLETION_TOKENS},
    },
    {"type": "message_stop"},
]
ANTHROPIC_SSE = "".join(_sse(e, e["type"]) for e in _ANTHROPIC_EVENTS)

# ---------- Gemini
GEMINI = json.dumps(
    {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": TEXT}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18},
        "modelVersion": "bench-upstream",
        "responseId": "bench",
    }
)


def _gemini_chunk(i: int) -> dict[str, Any]:
    last = i == len(WORDS) - 1
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": WORDS[i]}]}}
    usage: dict[str, Any] = {"promptTokenCount": PROMPT_TOKENS, "totalTokenCount": PROMPT_TOKENS}
    if last:
        candidate["finishReason"] = "STOP"
        usage = {
            "promptTokenCount": PROMPT_TOKENS,
            "candidatesTokenCount": COMPLETION_TOKENS,
            "totalTokenCount": PROMPT_TOKENS + COMPLETION_TOKENS,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": PROMPT_TOKENS}],
        }
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": "bench-upstream",
        "responseId": "bench",
    }


GEMINI_SSE = "".join(_sse(_gemini_chunk(i), end="\r\n\r\n") for i in range(len(WORDS)))

# (nginx location, content type, body)
LOCATIONS = (
    ("/v1/chat/completions", "application/json", CHAT),
    ("/sse/v1/chat/completions", "text/event-stream", CHAT_SSE),
    ("/v1/responses", "application/json", RESPONSES),
    ("/sse/v1/responses", "text/event-stream", RESPONSES_SSE),
    ("/v1/messages", "application/json", ANTHROPIC),
    ("/sse/v1/messages", "text/event-stream", ANTHROPIC_SSE),
    ("/v1beta/models/bench-upstream:generateContent", "application/json", GEMINI),
    ("/v1beta/models/bench-upstream:streamGenerateContent", "text/event-stream", GEMINI_SSE),
)


def nginx_conf(port: int, workdir: str) -> str:
    def literal(text: str) -> str:
        assert "$" not in text  # nginx would read it as a variable
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    locations = "\n".join(
        f"    location = {path} {{\n      default_type {kind};\n      return 200 {literal(body)};\n"
        "    }"
        for path, kind, body in LOCATIONS
    )
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
{locations}
  }}
}}
"""
