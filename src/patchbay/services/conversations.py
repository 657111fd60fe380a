"""Responses-API conversations kept by the gateway (``store`` + ``previous_response_id``).

A stored response keeps the whole conversation up to and including its answer, as Chat
Completions messages (a stable, already-tested encoding of the canonical messages), so a
follow-up works whatever upstream kind served either turn.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from patchbay.db import models as db
from patchbay.domain.messages import Message
from patchbay.domain.requests import ChatRequest
from patchbay.errors import NotFound
from patchbay.protocols.openai_chat.decode import decode_request as chat_decode
from patchbay.providers.openai_chat import encode_messages


def messages_json(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    return encode_messages(ChatRequest(model="", messages=messages))


def messages_from_json(data: list[dict[str, Any]]) -> tuple[Message, ...]:
    if not data:
        return ()
    return chat_decode({"model": "stored", "messages": data}).messages


async def load(session: AsyncSession, account_id: int, response_id: str) -> db.StoredResponse:
    row = await session.get(db.StoredResponse, response_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"response '{response_id}' not found", param="previous_response_id")
    return row


async def save(
    session: AsyncSession,
    account_id: int,
    model: str,
    messages: tuple[Message, ...],
    response: dict[str, Any],
) -> None:
    session.add(
        db.StoredResponse(
            id=response["id"],
            account_id=account_id,
            model=model,
            conversation={"messages": messages_json(messages)},
            response=response,
            created_at=int(time.time() * 1000),
        )
    )


async def remove(session: AsyncSession, account_id: int, response_id: str) -> None:
    await load(session, account_id, response_id)
    await session.execute(delete(db.StoredResponse).where(db.StoredResponse.id == response_id))


__all__ = ["load", "messages_from_json", "remove", "save", "select"]
