"""Reading request messages under a deadline, without a timer when none can be needed.

A request body's read is bounded (``body_timeout_s``) so a sender that trickles it is cut. The
bound costs a timer per read (``asyncio.timeout_at``: a few microseconds), yet for almost every
model call the whole body arrived with the head, and uvicorn's ``receive`` returns it without
waiting: its cycle's ``message_event`` is already set. Then no timer is armed.
"""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive


def buffered(receive: Receive) -> bool:
    """Whether ``receive`` returns without waiting: uvicorn's cycle holds the next message (or
    knows the client is gone). False for any other callable."""
    event = getattr(getattr(receive, "__self__", None), "message_event", None)
    return isinstance(event, asyncio.Event) and event.is_set()


async def receive_by(receive: Receive, deadline: float) -> Message:
    """The next message, which must arrive by ``deadline`` (loop time; ``TimeoutError``)."""
    if buffered(receive):
        return await receive()
    async with asyncio.timeout_at(deadline):
        return await receive()
