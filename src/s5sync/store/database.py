"""Engines and transactions for the CALENDAREVENT database.

- SQLite (the demo, a single store): WAL, a busy timeout, and two engines on the same
  file — writes open with `BEGIN IMMEDIATE` so a read-then-write never fails with
  SQLITE_BUSY halfway, reads with a plain deferred `BEGIN` so they never queue behind
  writers (DESIGN.md "Traps already known").
- PostgreSQL: one engine; every tenant-scoped transaction first sets
  `s5sync.tenant_id`, which the row-level security policies check (R22).

SQLAlchemy logs with `hide_parameters=True`: no secret or event text in a log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from s5sync.pooling import ping_when_idle

# R22: the tenant a PostgreSQL transaction may see, for the row-level security policies.
SET_TENANT = text("SELECT set_config('s5sync.tenant_id', :tenant, true)")


def async_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, hide_parameters=True, poolclass=NullPool)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The CALENDAREVENT database: a read and a write session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
        else:
            # Idle connections are pinged before use (s5sync.pooling), not every checkout.
            self.write_engine = ping_when_idle(
                create_async_engine(self.url, hide_parameters=True, echo=echo)
            )
            self.read_engine = self.write_engine
        self._writes = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._reads = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(
        self, tenant_id: int | None = None, *, write: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One transaction; scoped to `tenant_id` for row-level security on PostgreSQL."""
        maker = self._writes if write else self._reads
        async with maker() as session, session.begin():
            if tenant_id is not None and not self.is_sqlite:
                await session.execute(SET_TENANT, {"tenant": str(tenant_id)})
            yield session

    @asynccontextmanager
    async def connection(
        self, tenant_id: int | None = None, *, write: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """One transaction on a Core connection (no ORM session: the cycle's hot path)."""
        engine = self.write_engine if write else self.read_engine
        async with engine.begin() as conn:
            if tenant_id is not None and not self.is_sqlite:
                await conn.execute(SET_TENANT, {"tenant": str(tenant_id)})
            yield conn

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
