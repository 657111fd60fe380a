"""One driver per client protocol, each using its official SDK against the gateway, so the
translation matrix can ask every protocol the same questions."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
from google import genai
from google.genai import types

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )
).decode()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANSWER = {"type": "object", "properties": {"answer": {"type": "string"}}}


@dataclass
class Reply:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    call: tuple[str, str, dict[str, Any]] | None = None  # id, name, arguments
    raw: Any = None


class ChatDriver:
    name = "openai-chat"

    def __init__(self, base: str, key: str) -> None:
        self.client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)

    def _reply(self, r: Any) -> Reply:
        m = r.choices[0].message
        call = None
        if m.tool_calls:
            c = m.tool_calls[0]
            call = (c.id, c.function.name, json.loads(c.function.arguments))
        return Reply(m.content or "", r.usage.prompt_tokens, r.usage.completion_tokens, call, r)

    def text(self, model: str, prompt: str, stream: bool = False) -> Reply:
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            return self._reply(self.client.chat.completions.create(model=model, messages=messages))
        chunks = list(
            self.client.chat.completions.create(
                model=model, messages=messages, stream=True, stream_options={"include_usage": True}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
        return Reply(text, usage.prompt_tokens, usage.completion_tokens)

    def tool_turns(self, model: str, prompt: str, result: str) -> tuple[Reply, Reply]:
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
        messages: list[Any] = [{"role": "user", "content": prompt}]
        first = self._reply(
            self.client.chat.completions.create(model=model, messages=messages, tools=tools)
        )
        assert first.call is not None, first.raw
        message = first.raw.choices[0].message
        messages += [
            message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": first.call[0], "content": result},
        ]
        second = self._reply(
            self.client.chat.completions.create(model=model, messages=messages, tools=tools)
        )
        return first, second

    def image(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.chat.completions.create(
                model=model,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": prompt},
                            {
                                "type": "image_url",
                                "image_url": {"url": f"data:image/png;base64,{PNG}"},
                            },
                        ],
                    }
                ],
            )
        )

    def structured(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": ANSWER},
                },
            )
        )


class ResponsesDriver:
    name = "openai-responses"

    def __init__(self, base: str, key: str) -> None:
        self.client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)

    def _reply(self, r: Any) -> Reply:
        calls = [o for o in r.output if o.type == "function_call"]
        call = (calls[0].call_id, calls[0].name, json.loads(calls[0].arguments)) if calls else None
        return Reply(r.output_text, r.usage.input_tokens, r.usage.output_tokens, call, r)

    def text(self, model: str, prompt: str, stream: bool = False) -> Reply:
        if not stream:
            return self._reply(self.client.responses.create(model=model, input=prompt))
        events = list(self.client.responses.create(model=model, input=prompt, stream=True))
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        final = events[-1]
        assert final.type == "response.completed", final.type
        return Reply(text, final.response.usage.input_tokens, final.response.usage.output_tokens)

    def tool_turns(self, model: str, prompt: str, result: str) -> tuple[Reply, Reply]:
        tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
        first = self._reply(self.client.responses.create(model=model, input=prompt, tools=tools))  # type: ignore[arg-type]
        assert first.call is not None
        item = next(o for o in first.raw.output if o.type == "function_call")
        second = self._reply(
            self.client.responses.create(
                model=model,
                tools=tools,
                input=[
                    {"role": "user", "content": prompt},
                    item.model_dump(exclude_none=True),
                    {"type": "function_call_output", "call_id": first.call[0], "output": result},
                ],
            )
        )
        return first, second

    def image(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.responses.create(
                model=model,
                input=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": prompt},
                            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                        ],
                    }
                ],
            )
        )

    def structured(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.responses.create(
                model=model,
                input=prompt,
                text={"format": {"type": "json_schema", "name": "answer", "schema": ANSWER}},
            )
        )


class AnthropicDriver:
    name = "anthropic"

    def __init__(self, base: str, key: str) -> None:
        self.client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)

    def _reply(self, m: Any) -> Reply:
        text = "".join(b.text for b in m.content if b.type == "text")
        uses = [b for b in m.content if b.type == "tool_use"]
        call = (uses[0].id, uses[0].name, uses[0].input) if uses else None
        return Reply(
            text,
            m.usage.input_tokens + (m.usage.cache_read_input_tokens or 0),
            m.usage.output_tokens,
            call,
            m,
        )

    def text(self, model: str, prompt: str, stream: bool = False) -> Reply:
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            return self._reply(
                self.client.messages.create(model=model, max_tokens=300, messages=messages)
            )
        with self.client.messages.stream(model=model, max_tokens=300, messages=messages) as s:  # type: ignore[arg-type]
            text = "".join(s.text_stream)
            final = s.get_final_message()
        reply = self._reply(final)
        reply.text = text
        return reply

    def tool_turns(self, model: str, prompt: str, result: str) -> tuple[Reply, Reply]:
        tools = [{"name": "get_weather", "description": "weather", "input_schema": WEATHER}]
        messages: list[Any] = [{"role": "user", "content": prompt}]
        first = self._reply(
            self.client.messages.create(model=model, max_tokens=300, messages=messages, tools=tools)
        )
        assert first.call is not None
        messages += [
            {"role": "assistant", "content": [b.model_dump() for b in first.raw.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": first.call[0], "content": result}
                ],
            },
        ]
        second = self._reply(
            self.client.messages.create(model=model, max_tokens=300, messages=messages, tools=tools)
        )
        return first, second

    def image(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.messages.create(
                model=model,
                max_tokens=300,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": prompt},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": PNG,
                                },
                            },
                        ],
                    }
                ],
            )
        )

    structured = None  # Anthropic Messages has no structured-output parameter


class GeminiDriver:
    name = "gemini"

    def __init__(self, base: str, key: str) -> None:
        self.client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))

    def _reply(self, r: Any) -> Reply:
        calls = r.function_calls or []
        call = (calls[0].id or "", calls[0].name, dict(calls[0].args or {})) if calls else None
        parts = r.candidates[0].content.parts or []
        text = "".join(p.text or "" for p in parts if not p.thought)
        meta = r.usage_metadata
        out = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
        return Reply(text, meta.prompt_token_count or 0, out, call, r)

    def text(self, model: str, prompt: str, stream: bool = False) -> Reply:
        if not stream:
            return self._reply(self.client.models.generate_content(model=model, contents=prompt))
        chunks = list(self.client.models.generate_content_stream(model=model, contents=prompt))
        text = "".join(c.text or "" for c in chunks)
        meta = chunks[-1].usage_metadata
        return Reply(text, meta.prompt_token_count or 0, meta.candidates_token_count or 0)

    def tool_turns(self, model: str, prompt: str, result: str) -> tuple[Reply, Reply]:
        decl = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER)
        config = types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[decl])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        user = types.Content(role="user", parts=[types.Part.from_text(text=prompt)])
        first = self._reply(
            self.client.models.generate_content(model=model, contents=[user], config=config)
        )
        assert first.call is not None
        contents = [
            user,
            first.raw.candidates[0].content,
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(
                        name="get_weather", response={"content": result}
                    )
                ],
            ),
        ]
        second = self._reply(
            self.client.models.generate_content(model=model, contents=contents, config=config)
        )
        return first, second

    def image(self, model: str, prompt: str) -> Reply:
        return self._reply(
            self.client.models.generate_content(
                model=model,
                contents=[
                    types.Part.from_bytes(data=base64.b64decode(PNG), mime_type="image/png"),
                    prompt,
                ],
            )
        )

    def structured(self, model: str, prompt: str) -> Reply:
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_json_schema=ANSWER
        )
        return self._reply(
            self.client.models.generate_content(model=model, contents=prompt, config=config)
        )


DRIVERS = [ChatDriver, ResponsesDriver, AnthropicDriver, GeminiDriver]
KINDS = ["openai", "openai-responses", "anthropic", "gemini", "echo"]
