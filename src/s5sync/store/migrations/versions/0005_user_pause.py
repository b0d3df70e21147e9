"""Pause per user (issue 21 item 3, R14c): `app_user.paused_at` and `paused_by` — while
set, the user is never due (no cycle runs) until resumed; nothing else of the user's
state changes, so a resumed user goes on from their delta link and mapping.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import s5sync.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", s5sync.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_by", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("paused_by")
        batch_op.drop_column("paused_at")
