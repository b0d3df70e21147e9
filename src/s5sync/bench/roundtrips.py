"""Round trips to the CALENDAREVENT database, counted while the bench measures (issue 25).

Two counts, which together are every round trip after a connection's first use:

- statements: what SQLAlchemy sends through a cursor (`before_cursor_execute`); on
  asyncpg each is one Bind/Execute/Sync exchange, its statement prepared once per
  connection (the first Parse of a statement on a connection is not counted);
- statements asyncpg sends itself (`Database.single_statement` on its
  `StatementPool`), and control: what
  asyncpg sends outside SQLAlchemy's cursor — BEGIN, COMMIT, ROLLBACK and the pool's
  pings (`s5sync.pooling`) — both seen by asyncpg's query logger on every connection
  the pool hands out.

SQLite is in process: its statements are counted, it has no round trips to speak of,
and in-memory stores have nothing to count.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", ";", "START")


class RoundTrips:
    """Counts inside `async with`; the listeners stay until `close`."""

    def __init__(self, stores: object) -> None:
        db = getattr(stores, "db", None)
        self.engines = list({engine.sync_engine for engine in db.engines()}) if db else []
        self.statements = self.control = 0  # inside the last `async with`
        self._seen = [0, 0]  # since the listeners were added: statements, control
        self._from = (0, 0)
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "checkout", self._watch)
        self.pool = getattr(db, "statements", None) if db else None
        if self.pool is not None:
            self.pool.add_query_logger(self._logged)

    @property
    def total(self) -> int:
        return self.statements + self.control

    def _statement(self, *_: object) -> None:
        self._seen[0] += 1

    def _logged(self, record: Any) -> None:
        # asyncpg calls its loggers soon after, not at once; what it sends itself (not
        # through SQLAlchemy's cursor: `Database.single_statement`) is a statement too.
        control = str(record.query).lstrip().upper().startswith(_CONTROL)
        self._seen[1 if control else 0] += 1

    def _watch(self, dbapi_connection: Any, _record: object, _proxy: object) -> None:
        driver: Any = getattr(dbapi_connection, "_connection", None)
        if hasattr(driver, "add_query_logger"):  # asyncpg; a set, so added once
            driver.add_query_logger(self._logged)

    async def __aenter__(self) -> RoundTrips:
        await asyncio.sleep(0)
        self._from = (self._seen[0], self._seen[1])
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.sleep(0)  # the loggers of the last statements run
        self.statements = self._seen[0] - self._from[0]
        self.control = self._seen[1] - self._from[1]

    def per(self, cycles: int) -> dict[str, float]:
        return {
            "sql_statements_per_idle_cycle": round(self.statements / max(1, cycles), 2),
            "sql_round_trips_per_idle_cycle": round(self.total / max(1, cycles), 2),
        }

    def close(self) -> None:
        if self.pool is not None:
            self.pool.remove_query_logger(self._logged)
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._statement)
            event.remove(engine, "checkout", self._watch)
