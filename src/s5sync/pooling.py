"""Connection pools that ping a connection only after it sat idle (issue 12).

SQLAlchemy's `pool_pre_ping` pings at every checkout — with asyncpg a BEGIN, a `;` and a
ROLLBACK, three round trips — and a cycle checks out three connections. A connection
handed back a moment ago is alive; one that sat idle may have been cut by a database
restart or a firewall. So: a connection idle for longer than `IDLE_BEFORE_PING` is pinged
at checkout, and a dead one is replaced before anyone uses it (SQLAlchemy's "pessimistic
disconnect handling" with custom events). A restart that cuts connections in use, or
used within the last seconds, fails those operations once, as it would with pre-ping;
SQLAlchemy then drops the whole pool, and the next cycle runs on fresh connections.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_BEFORE_PING = 10.0  # seconds


def ping_when_idle(engine: AsyncEngine, idle_seconds: float = IDLE_BEFORE_PING) -> AsyncEngine:
    """Ping connections of `engine` idle for more than `idle_seconds` at checkout."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces it and tries again
            raise DisconnectionError("an idle pooled connection was dead") from error

    return engine
