"""Canonical, protocol-neutral types: requests, messages, responses, stream events, usage."""
