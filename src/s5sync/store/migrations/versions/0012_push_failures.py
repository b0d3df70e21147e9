"""Why a user's Graph subscription could not be made, and when it is tried again
(issue 19 item 4, R14b, R21): `app_user.push_error` (Graph's answer, at most 500
characters; the health page and the dashboard put it in plain words, core/cadence.py)
and `app_user.push_retry_at` (the subscription manager makes no new attempt before it,
whichever worker sweeps). Both are cleared when a subscription is made.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import s5sync.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_error", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("push_retry_at", s5sync.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("push_retry_at")
        batch_op.drop_column("push_error")
