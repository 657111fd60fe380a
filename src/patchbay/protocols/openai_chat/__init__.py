"""OpenAI Chat Completions: validate, decode, encode, stream."""
