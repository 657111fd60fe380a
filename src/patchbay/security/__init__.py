"""Secrets: encryption of upstream keys at rest and hashing of gateway API keys."""
