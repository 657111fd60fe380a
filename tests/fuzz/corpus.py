"""Realistic requests of each client protocol, every construct its decoder maps: the seeds the
decoder properties (``test_decoders``) mutate."""

from __future__ import annotations

IMAGE = "data:image/png;base64,iVBORw0KGgo="
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}

CHAT = [
    {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "really"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA"}},
                ],
                "name": "ann",
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "hmm",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "custom", "custom": {"name": "g", "input": "x"}},
                ],
                "function_call": {"name": "f", "arguments": "{}"},
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
            {"role": "function", "name": "f", "content": "43"},
            {"role": "assistant", "content": "ok", "refusal": "no"},
            {"role": "user", "content": "again"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": SCHEMA, "strict": True}},
            {"type": "custom", "custom": {"name": "g", "format": {"type": "text"}}},
        ],
        "functions": [{"name": "h", "parameters": SCHEMA}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "function_call": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": SCHEMA}},
        "web_search_options": {},
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
        "top_p": 1,
        "max_completion_tokens": 20,
        "stop": ["x", "y"],
        "reasoning_effort": "low",
        "parallel_tool_calls": False,
        "user": "u",
        "seed": 3,
    },
    {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"},
]
RESPONSES = [
    {
        "model": "m",
        "instructions": "be brief",
        "input": [
            {"role": "developer", "content": "lead"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": IMAGE, "detail": "auto"},
                    {"type": "input_file", "file_data": "data:application/pdf;base64,AA"},
                    {"type": "input_audio", "input_audio": {"data": "AA", "format": "mp3"}},
                ],
            },
            {"type": "reasoning", "id": "r1", "summary": [{"type": "summary_text", "text": "s"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "g", "input": "x"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {
                "type": "custom_tool_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "ok"}],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "done"}],
            },
            {"type": "item_reference", "id": "x"},
        ],
        "tools": [
            {"type": "function", "name": "f", "parameters": SCHEMA, "strict": True},
            {"type": "custom", "name": "g", "format": {"type": "grammar"}},
            {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "k"}]},
            {"type": "web_search"},
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": SCHEMA}},
        "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 30,
        "temperature": 1,
        "stream": False,
        "store": False,
        "parallel_tool_calls": True,
    },
    {"model": "m", "input": "hi", "tool_choice": "auto"},
]
ANTHROPIC = [
    {
        "model": "m",
        "max_tokens": 50,
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {"role": "system", "content": "lead"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                    {"type": "document", "source": {"type": "text", "data": "doc"}, "title": "t"},
                    {
                        "type": "document",
                        "source": {"type": "content", "content": [{"type": "text", "text": "c"}]},
                    },
                    {"type": "search_result", "content": [{"type": "text", "text": "r"}]},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "zz"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "42"}],
                        "is_error": False,
                    }
                ],
            },
        ],
        "tools": [
            {"name": "f", "description": "d", "input_schema": SCHEMA},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
            {"type": "bash_20250124", "name": "bash"},
        ],
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}},
        "stop_sequences": ["x"],
        "temperature": 0.2,
        "top_p": 0.9,
        "metadata": {"user_id": "u"},
        "stream": True,
    },
    {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
]
GEMINI = [
    {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "look"},
                    {"inlineData": {"mimeType": "image/png", "data": "AA"}},
                    {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://x"}},
                    {"inline_data": {"mime_type": "audio/wav", "data": "AA"}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "hmm", "thought": True, "thoughtSignature": "sig"},
                    {"functionCall": {"name": "f", "args": {"q": "x"}, "id": "c1"}},
                    {"function_call": {"name": "f", "args": {}}},
                    {"executableCode": {"language": "PYTHON", "code": "1"}},
                    {"codeExecutionResult": {"output": "1"}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "f", "response": {"content": "42"}, "id": "c1"}},
                    {"functionResponse": {"name": "f", "response": {"x": 1}}},
                ],
            },
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "tools": [
            {"functionDeclarations": [{"name": "f", "description": "d", "parameters": SCHEMA}]},
            {"googleSearch": {}},
            {"codeExecution": {}},
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        "generationConfig": {
            "maxOutputTokens": 40,
            "temperature": 0.3,
            "topP": 0.8,
            "stopSequences": ["x"],
            "responseMimeType": "application/json",
            "responseSchema": SCHEMA,
            "thinkingConfig": {"thinkingBudget": 512, "includeThoughts": True},
        },
    },
    {"contents": [{"parts": [{"text": "hi"}]}]},
]
