"""Metering: admission from an in-memory book, charges settled once and written behind."""
