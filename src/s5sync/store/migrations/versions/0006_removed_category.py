"""The "Removed from System Five" category (R6b) and the categories a mailbox holds (R21b).

`tenant.removed_category`, `removed_category_name`, `removed_category_color`: the store
option of the second category an event gets when its task is deleted in System Five —
on by default, named "Removed from System Five", red (`preset0`).

`app_user.category_ready` becomes text: it holds the master categories ensured in the
user's mailbox with their colour and id (`outlook.categories.CategoryMemo`), so a new
colour is applied on the next cycle with one request. A plain name written before this
revision still reads as "ensured, in the store's current colour".

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("removed_category", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "removed_category_name",
                sa.String(length=255),
                server_default="Removed from System Five",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "removed_category_color",
                sa.String(length=16),
                server_default="preset0",
                nullable=False,
            )
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column(
            "category_ready", existing_type=sa.String(length=255), type_=sa.Text()
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column(
            "category_ready", existing_type=sa.Text(), type_=sa.String(length=255)
        )
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_column("removed_category_color")
        batch_op.drop_column("removed_category_name")
        batch_op.drop_column("removed_category")
