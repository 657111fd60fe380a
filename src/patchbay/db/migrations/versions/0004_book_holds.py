"""holds of calls in flight, shared by instances through the database

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "book_holds",
        sa.Column("query_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("query_id"),
    )
    op.create_index("ix_book_holds_account", "book_holds", ["account_id"])
    op.create_index("ix_book_holds_key", "book_holds", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_book_holds_key", table_name="book_holds")
    op.drop_index("ix_book_holds_account", table_name="book_holds")
    op.drop_table("book_holds")
