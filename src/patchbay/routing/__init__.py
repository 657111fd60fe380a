"""Choosing which route of a model serves a call."""
