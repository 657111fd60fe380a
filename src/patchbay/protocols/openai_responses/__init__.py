"""OpenAI Responses client protocol: decode requests, encode answers and typed event streams."""
