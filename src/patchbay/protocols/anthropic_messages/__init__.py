"""Anthropic Messages client protocol: decode requests, encode answers and streams."""
