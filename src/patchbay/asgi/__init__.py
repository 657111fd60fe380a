"""Low-level ASGI replies: whole JSON answers and server-sent event streams."""
