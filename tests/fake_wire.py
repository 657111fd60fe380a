"""Per-protocol request reading and answer writing for the fake upstreams (see fake_brain)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fake_brain import Answer, Ask, count_words


def _text_of(content: Any) -> tuple[str, bool]:
    if isinstance(content, str):
        return content, False
    texts, image = [], False
    for part in content or []:
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(part.get("text", ""))
        elif kind in ("image_url", "input_image", "image"):
            image = True
        elif kind == "tool_result":
            texts.append(_text_of(part.get("content"))[0])
    return " ".join(texts), image


# ---------- OpenAI Chat Completions
def chat_ask(body: dict[str, Any]) -> Ask:
    messages = body["messages"]
    user = [m for m in messages if m["role"] == "user"]
    text, image = _text_of(user[-1]["content"]) if user else ("", False)
    last = messages[-1]
    fmt = (body.get("response_format") or {}).get("type")
    return Ask(
        text,
        image,
        [t["function"]["name"] for t in body.get("tools") or [] if "function" in t],
        _text_of(last.get("content"))[0] if last["role"] == "tool" else None,
        fmt in ("json_object", "json_schema"),
        body.get("max_completion_tokens") or body.get("max_tokens"),
        count_words(*(_text_of(m.get("content"))[0] for m in messages)),
    )


def chat_usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def chat_body(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    finish = "length" if answer.truncated else "stop"
    if answer.call_name:
        message["tool_calls"] = [
            {
                "id": "call_fake1",
                "type": "function",
                "function": {"name": answer.call_name, "arguments": answer.call_args},
            }
        ]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": chat_usage(answer),
    }


def chat_chunks(body: dict[str, Any], answer: Answer) -> list[bytes]:
    base = {
        "id": "chatcmpl-fake2",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body["model"],
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    if answer.call_name:
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_fake1",
                            "type": "function",
                            "function": {"name": answer.call_name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        args = answer.call_args
        for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
            out.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        finish = "tool_calls"
    else:
        out += [chunk({"content": (" " if i else "") + w}) for i, w in enumerate(answer.words)]
        finish = "length" if answer.truncated else "stop"
    out.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        tail = {**base, "choices": [], "usage": chat_usage(answer)}
        out.append(b"data: " + json.dumps(tail).encode() + b"\n\n")
    return [*out, b"data: [DONE]\n\n"]
