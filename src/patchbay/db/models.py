"""The gateway's tables (SQLAlchemy 2 typed ORM).

Invariants kept by the services that write them:
- ``accounts.point_balance`` always equals the sum of that account's ``ledger_entries.points``;
  both change in one transaction.
- A charge ledger row carries the ``query_id`` of its usage entry; the unique constraint makes
  settlement idempotent (a request is charged at most once, whatever retries happen).
- Secrets never stand here in plain text: API keys as SHA-256 hashes, upstream keys encrypted.
- Money is stored as decimal strings (``cost_usd``), never floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="user")
    point_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(32))
    allowed_models: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    rpm: Mapped[int] = mapped_column(Integer)
    tpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_points: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    spent_points: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_api_keys_account", "account_id"),)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # charge | topup | adjustment
    points: Mapped[int] = mapped_column(BigInteger)  # signed: charges are negative
    query_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_ledger_account", "account_id", "id"),)


class UsageEntry(Base):
    __tablename__ = "usage_entries"
    query_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    api_key_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bot: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)  # Unix ms
    cost_usd: Mapped[str] = mapped_column(String(64))  # exact decimal digits
    cost_points: Mapped[int] = mapped_column(BigInteger)
    cost_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    usage_type: Mapped[str] = mapped_column(String(16), default="API")
    chat_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    canvas_app_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    __table_args__ = (
        Index("ix_usage_account_query", "account_id", "query_id"),
        Index("ix_usage_created", "created_at"),
    )


class Provider(Base):
    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_key_env: Mapped[str | None] = mapped_column(String(200), nullable=True)
    timeout_s: Mapped[float] = mapped_column(Float, default=600.0)
    connect_timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_byte_timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    idle_timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16), default="api")  # config | api
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Model(Base):
    __tablename__ = "models"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    owned_by: Mapped[str] = mapped_column(String(200), default="patchbay")
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[int] = mapped_column(BigInteger)  # Unix ms
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    pricing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # modalities, limits, …
    source: Mapped[str] = mapped_column(String(16), default="api")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelRoute(Base):
    __tablename__ = "model_routes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    upstream_model: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    max_concurrency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (Index("ix_routes_model", "model_id"),)


class Bot(Base):
    __tablename__ = "bots"
    handle: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(Text, default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    api_bot_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # no api_key
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    parameter_controls: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_bots_account", "account_id"),)


class StoredResponse(Base):
    """A Responses-API answer kept for ``previous_response_id`` (``store: true``)."""

    __tablename__ = "stored_responses"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    conversation: Mapped[dict[str, Any]] = mapped_column(JSON)  # canonical history + answer
    response: Mapped[dict[str, Any]] = mapped_column(JSON)  # the response object as returned
    created_at: Mapped[int] = mapped_column(BigInteger)  # Unix ms
    __table_args__ = (Index("ix_stored_responses_account", "account_id"),)


class VideoTask(Base):
    """An asynchronous video generation task (``/v1/videos``): owned by one account, charged
    once when it completes (``query_id`` links the charge), never when it fails."""

    __tablename__ = "video_tasks"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(100))  # the route's provider name
    upstream_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | in_progress | completed | failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # the client's parameters
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # last upstream view
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    query_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)  # Unix ms
    updated_at: Mapped[int] = mapped_column(BigInteger)  # Unix ms
    completed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (Index("ix_video_tasks_account", "account_id", "created_at"),)


class RedemptionCode(Base):
    """A top-up code (seed 001's Redemption): redeemed at most once, by one account; stored
    as a hash, the code itself shown once when created."""

    __tablename__ = "redemption_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hint: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="unused")  # unused | used | disabled
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    redeemed_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    __table_args__ = (Index("ix_redemption_codes_status", "status"),)


class ConsoleSession(Base):
    """A signed-in console session: the cookie carries a random token, this row its hash."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_console_sessions_account", "account_id"),)


class BookHold(Base):
    """The hold of one call in flight, when instances share admission through the database
    (``[billing] shared_book = "database"``): admission counts the live ones, the settlement
    batch that writes the call's charge deletes its hold in the same transaction."""

    __tablename__ = "book_holds"
    query_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_id: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_book_holds_account", "account_id"),
        Index("ix_book_holds_key", "key_id"),
    )


class ClusterState(Base):
    """Version counters that tell every worker and instance when to drop a cache."""

    __tablename__ = "cluster_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "BookHold",
    "Bot",
    "ClusterState",
    "ConsoleSession",
    "LedgerEntry",
    "Model",
    "ModelRoute",
    "Provider",
    "RedemptionCode",
    "StoredResponse",
    "UsageEntry",
    "VideoTask",
]
