"""Event text in the window cache is sealed (issue 23 item 6; R22; `store/sealed.py`).

From this revision on, `event_cache.data` keeps an event's subject and body as one
Fernet token. Rows written before it hold them in clear; a migration has no keys to
seal them with, so the window cache and delta links are emptied instead: each user's
next cycle re-reads their window once (a re-baseline: absence is not deletion, and the
mapping rows, which say what is linked, are kept). Downgrading empties them again, for
the older code cannot read sealed rows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _empty_the_window_caches() -> None:
    op.execute("DELETE FROM event_cache")
    op.execute("DELETE FROM delta_state")


def upgrade() -> None:
    _empty_the_window_caches()


def downgrade() -> None:
    _empty_the_window_caches()
