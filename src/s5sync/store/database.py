"""Engines and transactions for the CALENDAREVENT database.

- SQLite (the demo, a single store): WAL, a busy timeout, and two engines on the same
  file — writes open with `BEGIN IMMEDIATE` so a read-then-write never fails with
  SQLITE_BUSY halfway, reads with a plain deferred `BEGIN` so they never queue behind
  writers (DESIGN.md "Traps already known").
- PostgreSQL: every tenant-scoped transaction first sets `s5sync.tenant_id`, which the
  row-level security policies check (R22). With a `tenant_url` (a role that neither owns
  the tables nor has `BYPASSRLS`), tenant-scoped transactions run on an engine of their
  own connected as that role, so the policies bind them; the cross-store work (the
  `Directory`) stays on the owner's engine. Without one, both are the same engine.
  The cycle's two server-side functions run on asyncpg connections of their own, as
  that same role (`single_statement`, `store/statements.py`; issue 25).

SQLAlchemy logs with `hide_parameters=True`: no secret or event text in a log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from s5sync.pooling import ping_when_idle
from s5sync.store.statements import StatementPool
from s5sync.store.tls import asyncpg_connect

# R22: the tenant a PostgreSQL transaction may see, for the row-level security policies.
SET_TENANT = text("SELECT set_config('s5sync.tenant_id', :tenant, true)")


# What the store-bound role may do to the tables of its schema (`tenant_role_problem`).
_ROLE_CHECK = text(
    """
    SELECT current_user,
           (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
           count(*) FILTER (WHERE tableowner = current_user),
           count(*) FILTER (WHERE NOT has_table_privilege(
               current_user, format('%I.%I', schemaname, tablename),
               'SELECT, INSERT, UPDATE, DELETE'))
    FROM pg_tables WHERE schemaname = current_schema()
    """
)


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


def _postgresql_engine(url: str, echo: bool, ca: Path | None = None) -> AsyncEngine:
    # TLS as the URL says it in libpq's words, and S5SYNC_DATABASE_CA (store/tls.py).
    bare, connect_args = asyncpg_connect(url, ca)
    return ping_when_idle(
        create_async_engine(bare, hide_parameters=True, echo=echo, connect_args=connect_args)
    )


class Database:
    """The CALENDAREVENT database: read and write engines, and on PostgreSQL
    optionally a non-owner engine for the tenant-scoped transactions (R22)."""

    def __init__(
        self, url: str, *, tenant_url: str = "", echo: bool = False, ca: Path | None = None
    ) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
            self.tenant_engine = self.write_engine
            self.statements: StatementPool | None = None
        else:
            # Idle connections are pinged before use (s5sync.pooling), not every checkout.
            self.write_engine = _postgresql_engine(self.url, echo, ca)
            self.read_engine = self.write_engine
            self.tenant_engine = (
                _postgresql_engine(async_url(tenant_url), echo, ca)
                if tenant_url
                else self.write_engine
            )
            # One statement, one round trip: no BEGIN or COMMIT of its own (issue 25).
            self.statements = StatementPool(*asyncpg_connect(async_url(tenant_url or url), ca))

    def _bound(self, tenant_id: int | None) -> bool:
        """Whether a transaction is bound to a tenant for row-level security."""
        return tenant_id is not None and not self.is_sqlite

    def _engine(self, tenant_id: int | None, write: bool) -> AsyncEngine:
        if self._bound(tenant_id):
            return self.tenant_engine
        return self.write_engine if write else self.read_engine

    @asynccontextmanager
    async def transaction(
        self, tenant_id: int | None = None, *, write: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One transaction; scoped to `tenant_id` for row-level security on PostgreSQL."""
        engine = self._engine(tenant_id, write)
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            if self._bound(tenant_id):
                await session.execute(SET_TENANT, {"tenant": str(tenant_id)})
            yield session

    @asynccontextmanager
    async def connection(
        self, tenant_id: int | None = None, *, write: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """One transaction on a Core connection (no ORM session: the cycle's hot path)."""
        async with self._engine(tenant_id, write).begin() as conn:
            if self._bound(tenant_id):
                await conn.execute(SET_TENANT, {"tenant": str(tenant_id)})
            yield conn

    async def single_statement(self, sql: str, *args: object) -> Any:
        """PostgreSQL only: one statement (`$1`… parameters) as its own transaction
        (autocommit), as the store-bound role, on asyncpg alone (`StatementPool`);
        returns the first column of its first row. For a server-side function that binds
        itself to its store before its first read (R22; the cycle's `s5sync_cycle_*`,
        migration 0008): one round trip, where `connection` needs a BEGIN, the binding
        and a COMMIT besides (issue 25)."""
        if self.statements is None:
            raise RuntimeError("SQLite has no server-side functions")
        return await self.statements.fetchval(sql, *args)

    async def tenant_role_problem(self) -> str | None:
        """Why row-level security would not bind the store-bound transactions' own role
        (`tenant_url`), or None when it binds or no such role is configured (R22)."""
        if self.tenant_engine is self.write_engine:
            return None
        async with self.tenant_engine.connect() as conn:
            role, bypasses, owned, missing = (await conn.execute(_ROLE_CHECK)).one()
        if bypasses:
            return f"role {role} bypasses row-level security (superuser or BYPASSRLS)"
        if owned:
            return f"role {role} owns {owned} table(s), so it could turn their policies off"
        if missing:
            return f"role {role} lacks SELECT, INSERT, UPDATE or DELETE on {missing} table(s)"
        return None

    def engines(self) -> set[AsyncEngine]:
        """Every engine this database holds (for disposal and statement counting)."""
        return {self.write_engine, self.read_engine, self.tenant_engine}

    async def dispose(self) -> None:
        for engine in self.engines():
            await engine.dispose()
        if self.statements is not None:
            await self.statements.close()
