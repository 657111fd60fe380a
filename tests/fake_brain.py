"""The deterministic 'model' behind every fake upstream: what it answers to what it was asked.

- Answers ``You said: <last user text>``; mentions ``[image]`` when an image was sent.
- With tools offered and ``call <tool> {json}`` in the last user text, calls that tool.
- After a tool result, answers ``Tool said: <result>``.
- With JSON output requested, answers ``{"answer": "<text>"}``.
- Honours the output token limit (a token is a whitespace-separated word).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

CALL = re.compile(r"call (\w+)(?:\s+(\{.*\}))?", re.DOTALL)


@dataclass
class Ask:
    last_user_text: str = ""
    has_image: bool = False
    tools: list[str] = field(default_factory=list)
    tool_result: str | None = None
    json_mode: bool = False
    limit: int | None = None
    prompt_words: int = 0


@dataclass
class Answer:
    text: str | None
    call_name: str | None = None
    call_args: str = "{}"
    truncated: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def words(self) -> list[str]:
        return (self.text or "").split(" ") if self.text else []


def think(ask: Ask) -> Answer:
    if ask.tool_result is None and ask.tools:
        match = CALL.search(ask.last_user_text)
        if match and match.group(1) in ask.tools:
            args = match.group(2) or "{}"
            json.loads(args)
            return Answer(
                None,
                match.group(1),
                args,
                prompt_tokens=ask.prompt_words,
                completion_tokens=len(args.split()) + 1,
            )
    if ask.tool_result is not None:
        text = f"Tool said: {ask.tool_result}"
    else:
        text = f"You said: {ask.last_user_text}" + (" [image]" if ask.has_image else "")
    if ask.json_mode:
        text = json.dumps({"answer": text})
    words = text.split(" ")
    truncated = ask.limit is not None and len(words) > ask.limit
    if truncated:
        words = words[: ask.limit]
    return Answer(
        " ".join(words),
        truncated=truncated,
        prompt_tokens=ask.prompt_words,
        completion_tokens=len(words),
    )


def count_words(*texts: str) -> int:
    return sum(len(t.split()) for t in texts)
