"""Responses-API conversations kept by the gateway (``store`` + ``previous_response_id``).

A stored response keeps the whole conversation up to and including its answer as Responses
input items — the items the client sent (after any earlier turns it continued) followed by the
answer's output items — so a follow-up continues it whatever upstream served either turn: a
same-protocol upstream receives the items as they were, a translated one their canonical
decoding. Rows written before this format (``{"messages": [Chat messages]}``) still load.

A response is saved before the client receives its last byte: the moment the client has the
answer, ``GET /v1/responses/{id}`` and ``previous_response_id`` find it, on every instance.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from patchbay.db import ledger_sql
from patchbay.db import models as db
from patchbay.errors import NotFound
from patchbay.protocols.openai_chat.decode import decode_request as chat_decode
from patchbay.providers.openai_responses import encode_input

FORMAT = "responses-items"
COLUMNS = ("id", "account_id", "model", "conversation", "response", "created_at")


def as_items(raw: Any) -> list[Any]:
    """A Responses ``input`` as a list of items (a string is one user message)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return list(raw) if isinstance(raw, list) else [raw]


def items_of(conversation: dict[str, Any]) -> list[Any]:
    if conversation.get("format") == FORMAT:
        return list(conversation.get("items") or [])
    messages = conversation.get("messages") or []  # the Chat-messages form of earlier rows
    if not messages:
        return []
    return encode_input(chat_decode({"model": "stored", "messages": messages}).messages)


async def load(session: AsyncSession, account_id: int, response_id: str) -> db.StoredResponse:
    row = await session.get(db.StoredResponse, response_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"response '{response_id}' not found", param="previous_response_id")
    return row


async def remove(session: AsyncSession, account_id: int, response_id: str) -> None:
    await load(session, account_id, response_id)
    await session.execute(delete(db.StoredResponse).where(db.StoredResponse.id == response_id))


class Conversations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def history(self, account_id: int, response_id: str) -> list[Any]:
        """The items of a kept conversation, ending with its answer's output."""
        async with self.sessions() as session:
            row = await load(session, account_id, response_id)
        return items_of(row.conversation)

    async def save(
        self, account_id: int, model: str, items: list[Any], response: dict[str, Any]
    ) -> None:
        """Keep ``response`` and the conversation that led to it (``items``, the input)."""
        output = [item for item in response.get("output") or () if isinstance(item, dict)]
        conversation = {"format": FORMAT, "items": [*items, *output]}
        engine = self.sessions.kw["bind"]
        dialect = engine.dialect
        as_json = ledger_sql.json_value(dialect)
        row = (
            str(response.get("id") or ""),
            account_id,
            model,
            as_json(conversation),
            as_json(response),
            int(time.time() * 1000),
        )
        # one prepared statement, no ORM unit of work (a merge read the row first)
        async with engine.begin() as connection:
            await connection.exec_driver_sql(upsert_sql(dialect), row)


@functools.lru_cache(maxsize=8)
def upsert_sql(dialect: Dialect) -> str:
    """Keep a response by id, replacing an earlier save of the same id (SQLite, PostgreSQL)."""
    marks = ", ".join(ledger_sql.marks(dialect.paramstyle, len(COLUMNS)))
    updates = ", ".join(f"{name} = excluded.{name}" for name in COLUMNS[1:])
    return (
        f"INSERT INTO stored_responses ({', '.join(COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}"
    )
