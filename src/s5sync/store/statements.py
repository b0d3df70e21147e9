"""Single statements on PostgreSQL, each its own transaction, on asyncpg alone (issue 25).

The cycle's server-side functions (`s5sync_cycle_start`, `s5sync_cycle_finish`,
migration 0008) bind themselves to their store (R22) and need nothing around them: no
BEGIN, no COMMIT, no SQLAlchemy. Profiled, SQLAlchemy's pool checkout and check-in
(greenlet hops and pool events) cost several times the statement itself, so these run
on a small pool of asyncpg connections of their own, of the same role and TLS settings
as the store-bound engine (`Database.tenant_engine`):

- a connection that sat idle for more than `IDLE_BEFORE_PING` is pinged before use and
  replaced when dead, as `s5sync.pooling` does for SQLAlchemy's pools; one whose
  statement failed (or was cancelled) is closed, never handed out again;
- asyncpg prepares each statement once per connection (its statement cache);
- at most `size` connections at once; callers beyond wait for one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs
from sqlalchemy.engine import make_url

from s5sync.pooling import IDLE_BEFORE_PING


class StatementPool:
    """asyncpg connections for one statement at a time each."""

    def __init__(
        self,
        url: str,
        connect_args: dict[str, Any],
        *,
        size: int = 10,
        idle_seconds: float = IDLE_BEFORE_PING,
    ) -> None:
        params = make_url(url).translate_connect_args(username="user")
        self._params: dict[str, Any] = {**params, **connect_args}
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._slots = asyncio.Semaphore(size)
        self._idle_seconds = idle_seconds
        self._loggers: list[Callable[[Any], None]] = []

    async def fetchval(self, sql: str, *args: object) -> Any:
        """The first column of the first row of `sql` run once with `args` ($1…)."""
        return await self._run("fetchval", sql, args)

    async def fetch(self, sql: str, *args: object) -> list[Any]:
        """Every row of `sql` run once with `args` ($1…), as asyncpg records (by name)."""
        rows: list[Any] = await self._run("fetch", sql, args)
        return rows

    async def _run(self, method: str, sql: str, args: tuple[object, ...]) -> Any:
        async with self._slots:
            conn = await self._take()
            try:
                value = await getattr(conn, method)(sql, *args)
            except BaseException:
                conn.terminate()
                raise
            self._idle.append((conn, time.monotonic()))
            return value

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            conn, since = self._idle.pop()
            if conn.is_closed():
                continue
            if time.monotonic() - since <= self._idle_seconds:
                return conn
            try:
                await conn.fetchrow(";")  # idle a while: alive?
            except Exception:  # a restart or a firewall cut it: take another
                conn.terminate()
                continue
            return conn
        conn = await asyncpg.connect(**self._params)
        await conn.set_type_codec(
            "json", encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
        )
        for logger in self._loggers:
            conn.add_query_logger(logger)
        return conn

    def add_query_logger(self, logger: Callable[[Any], None]) -> None:
        """asyncpg's query logger on every connection, now and later (the bench's count)."""
        self._loggers.append(logger)
        for conn, _ in self._idle:
            conn.add_query_logger(logger)

    def remove_query_logger(self, logger: Callable[[Any], None]) -> None:
        self._loggers.remove(logger)
        for conn, _ in self._idle:
            conn.remove_query_logger(logger)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            try:
                await conn.close(timeout=2)
            except Exception:  # already gone
                conn.terminate()
