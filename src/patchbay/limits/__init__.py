"""Per-key rate limits: one interface, an in-process backend and a Redis backend."""
