"""Responses, Anthropic and Gemini wire formats for the fake upstreams."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.fake_brain import Answer, Ask, count_words
from tests.fake_wire import _text_of


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data).encode() + b"\n\n"


# ---------- OpenAI Responses
def responses_ask(body: dict[str, Any]) -> Ask:
    items = (
        body["input"]
        if isinstance(body["input"], list)
        else [{"type": "message", "role": "user", "content": body["input"]}]
    )
    users = [i for i in items if i.get("type", "message") == "message" and i["role"] == "user"]
    text, image = _text_of(users[-1]["content"]) if users else ("", False)
    last = items[-1]
    fmt = ((body.get("text") or {}).get("format") or {}).get("type")
    words = count_words(*(_text_of(i.get("content"))[0] for i in items if "content" in i))
    return Ask(
        text,
        image,
        [t["name"] for t in body.get("tools") or [] if t.get("type") == "function"],
        last.get("output") if last.get("type") == "function_call_output" else None,
        fmt in ("json_object", "json_schema"),
        body.get("max_output_tokens"),
        words,
    )


def responses_body(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    if answer.call_name:
        output = [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_fake1",
                "name": answer.call_name,
                "arguments": answer.call_args,
                "status": "completed",
            }
        ]
    else:
        output = [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
            }
        ]
    return {
        "id": f"resp_{uuid.uuid4().hex}",  # unique, as the real API gives them
        "object": "response",
        "created_at": 1,
        "model": body["model"],
        "status": "incomplete" if answer.truncated else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if answer.truncated else None,
        "output": output,
        "usage": {
            "input_tokens": answer.prompt_tokens,
            "output_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def responses_chunks(body: dict[str, Any], answer: Answer) -> list[bytes]:
    final = responses_body(body, answer)

    def named(data: dict[str, Any]) -> bytes:  # as OpenAI sends them: each event named
        return sse(data, data["type"])

    seq = iter(range(1000))
    out = [
        named(
            {
                "type": "response.created",
                "sequence_number": next(seq),
                "response": {**final, "status": "in_progress", "output": [], "usage": None},
            }
        )
    ]
    item = final["output"][0]
    if answer.call_name:
        out.append(
            named(
                {
                    "type": "response.output_item.added",
                    "sequence_number": next(seq),
                    "output_index": 0,
                    "item": {**item, "arguments": ""},
                }
            )
        )
        args = answer.call_args
        for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
            out.append(
                named(
                    {
                        "type": "response.function_call_arguments.delta",
                        "sequence_number": next(seq),
                        "output_index": 0,
                        "item_id": "fc_1",
                        "delta": piece,
                    }
                )
            )
    else:
        out.append(
            named(
                {
                    "type": "response.output_item.added",
                    "sequence_number": next(seq),
                    "output_index": 0,
                    "item": {**item, "content": []},
                }
            )
        )
        for i, word in enumerate(answer.words):
            out.append(
                named(
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": next(seq),
                        "output_index": 0,
                        "item_id": "msg_1",
                        "content_index": 0,
                        "delta": (" " if i else "") + word,
                    }
                )
            )
    out.append(
        named(
            {
                "type": "response.output_item.done",
                "sequence_number": next(seq),
                "output_index": 0,
                "item": item,
            }
        )
    )
    kind = "response.incomplete" if answer.truncated else "response.completed"
    return [*out, named({"type": kind, "sequence_number": next(seq), "response": final})]


# ---------- Anthropic Messages
def anthropic_ask(body: dict[str, Any]) -> Ask:
    messages = body["messages"]
    users = [m for m in messages if m["role"] == "user"]
    last = messages[-1]
    blocks = last["content"] if isinstance(last["content"], list) else []
    results = [b for b in blocks if b.get("type") == "tool_result"]
    plain = [
        m
        for m in users
        if not any(
            isinstance(m["content"], list) and b.get("type") == "tool_result" for b in m["content"]
        )
    ]
    text, image = _text_of(plain[-1]["content"]) if plain else ("", False)
    return Ask(
        text,
        image,
        [t["name"] for t in body.get("tools") or [] if "input_schema" in t],
        _text_of(results[-1].get("content"))[0] if results else None,
        False,
        body.get("max_tokens"),
        count_words(*(_text_of(m["content"])[0] for m in messages)),
    )


def anthropic_body(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    if answer.call_name:
        content = [
            {
                "type": "tool_use",
                "id": "toolu_fake1",
                "name": answer.call_name,
                "input": json.loads(answer.call_args),
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": answer.text}]
        stop = "max_tokens" if answer.truncated else "end_turn"
    return {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
    }


def anthropic_chunks(body: dict[str, Any], answer: Answer) -> list[bytes]:
    whole = anthropic_body(body, answer)
    start = {
        **whole,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": 1},
    }
    out = [
        sse({"type": "message_start", "message": start}, "message_start"),
        sse({"type": "ping"}, "ping"),
    ]
    if answer.call_name:
        block = {"type": "tool_use", "id": "toolu_fake1", "name": answer.call_name, "input": {}}
        out.append(
            sse(
                {"type": "content_block_start", "index": 0, "content_block": block},
                "content_block_start",
            )
        )
        args = answer.call_args
        for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
            out.append(
                sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                    "content_block_delta",
                )
            )
    else:
        out.append(
            sse(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
        )
        for i, word in enumerate(answer.words):
            out.append(
                sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": (" " if i else "") + word},
                    },
                    "content_block_delta",
                )
            )
    out.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    out.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": whole["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": answer.completion_tokens},
            },
            "message_delta",
        )
    )
    return [*out, sse({"type": "message_stop"}, "message_stop")]


# ---------- Gemini
def gemini_ask(body: dict[str, Any]) -> Ask:
    contents = body["contents"]
    texts, image, result = [], False, None
    for part in contents[-1]["parts"]:
        if "functionResponse" in part:
            response = part["functionResponse"].get("response") or {}
            result = str(response.get("content", response))
    users = [
        c
        for c in contents
        if c.get("role") == "user" and not any("functionResponse" in p for p in c["parts"])
    ]
    for part in users[-1]["parts"] if users else []:
        if "text" in part:
            texts.append(part["text"])
        if "inlineData" in part or "fileData" in part:
            image = True
    config = body.get("generationConfig") or {}
    decls = [d["name"] for t in body.get("tools") or [] for d in t.get("functionDeclarations", [])]
    words = count_words(*(p.get("text", "") for c in contents for p in c["parts"]))
    return Ask(
        " ".join(texts),
        image,
        decls,
        result,
        config.get("responseMimeType") == "application/json",
        config.get("maxOutputTokens"),
        words,
    )


def gemini_body(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    if answer.call_name:
        parts = [{"functionCall": {"name": answer.call_name, "args": json.loads(answer.call_args)}}]
    else:
        parts = [{"text": answer.text}]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "index": 0,
                "finishReason": "MAX_TOKENS" if answer.truncated else "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": answer.prompt_tokens,
            "candidatesTokenCount": answer.completion_tokens,
            "totalTokenCount": answer.prompt_tokens + answer.completion_tokens,
        },
        "modelVersion": "gemini-fake",
        "responseId": "fake-1",
    }


def gemini_chunks(body: dict[str, Any], answer: Answer) -> list[bytes]:
    whole = gemini_body(body, answer)
    if answer.call_name:
        return [b"data: " + json.dumps(whole).encode() + b"\r\n\r\n"]
    out = []
    words = answer.words
    for i, word in enumerate(words):
        chunk: dict[str, Any] = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": (" " if i else "") + word}]},
                    "index": 0,
                }
            ],
            "modelVersion": "gemini-fake",
            "responseId": "fake-1",
            "usageMetadata": {"promptTokenCount": answer.prompt_tokens},
        }
        if i == len(words) - 1:
            chunk["candidates"][0]["finishReason"] = whole["candidates"][0]["finishReason"]
            chunk["usageMetadata"] = whole["usageMetadata"]
        out.append(b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n")
    return out
