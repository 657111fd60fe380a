"""per-provider timeouts, per-route concurrency caps

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMEOUTS = ("connect_timeout_s", "first_byte_timeout_s", "idle_timeout_s")


def upgrade() -> None:
    with op.batch_alter_table("providers") as table:
        for name in TIMEOUTS:
            table.add_column(sa.Column(name, sa.Float(), nullable=True))
    with op.batch_alter_table("model_routes") as table:
        table.add_column(sa.Column("max_concurrency", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_routes") as table:
        table.drop_column("max_concurrency")
    with op.batch_alter_table("providers") as table:
        for name in reversed(TIMEOUTS):
            table.drop_column(name)
