"""SqlTaskStore: the TaskStore port (ports.py) on a store's System Five database.

Built for one store: its System Five connection URL and its time zone (R21). Async
SQLAlchemy (aiosqlite / asyncpg); every statement is a named one from `statements`. On
PostgreSQL the read every cycle makes (`push_candidates`, R1) runs on asyncpg alone
(`store.statements.StatementPool`, up to `READ_CONNECTIONS` more connections): profiled,
SQLAlchemy's checkout, greenlet hops and result layer cost ≈ 0.4 ms of CPU for a read
asyncpg does in ≈ 0.1 ms (issue 25, the idle cycle).
Writes are optimistic (DESIGN.md): an update whose `updated_at` no longer matches returns
`WriteConflict`, so the engine decides again next cycle and no save is lost (R12b).
Values System Five cannot hold are adapted by `values.fit` and the adaptations come back
in the returned snapshot's `time_notes` (R23).

Errors: the tree in `systemfive.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]  # no stubs
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from s5sync.core.snapshots import TaskDraft, TaskSnapshot
from s5sync.core.timezones import zone
from s5sync.logs import hold_at_warning
from s5sync.pooling import ping_when_idle
from s5sync.store.statements import StatementPool
from s5sync.store.tls import asyncpg_connect
from s5sync.sync.ports import Employee, TaskStore, WriteConflict
from s5sync.systemfive import statements
from s5sync.systemfive.columns import lenient_text
from s5sync.systemfive.errors import (
    SystemFiveRefused,
    SystemFiveUnavailable,
    UnknownEmployee,
)
from s5sync.systemfive.values import fit, snapshot_or_unreadable, stamp
from s5sync.systemfive.watcher import Latest, Saved, saved

log = logging.getLogger(__name__)
ID_CHUNK = 1000
READ_CONNECTIONS = 10
CONNECT_ARGS = {"timeout": 10, "command_timeout": 60}  # R17b: never hang a cycle
# `statements.PUSH_CANDIDATES` with asyncpg's placeholder, for the pool below.
PUSH_CANDIDATES_PG = statements.PUSH_CANDIDATES.text.replace(":employee_id", "$1")


def async_url(url: str) -> str:
    """The async driver URL for a System Five connection URL (sqlite → aiosqlite, pg → asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.engine.Engine")


def keep_driver_logs_quiet() -> None:
    """R22: at DEBUG, aiosqlite logs every statement *with its parameters* and SQLAlchemy's
    engine every result row — task notes, event bodies, sealed secrets. These loggers stay
    at WARNING whatever the process's log level (as httpx's do, outlook.session);
    `echo=True` on an engine still turns its own logging on for a developer."""
    hold_at_warning(QUIET_LOGGERS)


def _engine(url: str) -> AsyncEngine:
    # Idle connections are pinged before use: a long-running service outlives the store's
    # database restarts (s5sync.pooling); the PostgreSQL timeouts keep an unreachable
    # System Five from hanging a cycle (R17b). hide_parameters: a statement's values
    # never reach an error message or a log (R22).
    options: dict[str, Any] = {"hide_parameters": True}
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        # The URL's TLS words (`?sslmode=verify-full&sslrootcert=…`) are libpq's; asyncpg
        # gets them as an SSL context (store/tls.py).
        url, tls = asyncpg_connect(url)
        options["connect_args"] = {**CONNECT_ARGS, **tls}
    engine = create_async_engine(url, **options)
    if backend == "sqlite":
        # R23: SQLite keeps bytes that are not UTF-8 in a text column; sqlite3's default
        # decoding would fail the whole statement on one such row (columns.lenient_text).
        @event.listens_for(engine.sync_engine, "connect")
        def _lenient(_dbapi_connection: Any, record: Any) -> None:
            record.driver_connection.text_factory = lenient_text

    return ping_when_idle(engine)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _read_pool(url: str) -> StatementPool | None:
    """asyncpg connections for the cycle's read, on PostgreSQL (same URL, same TLS)."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    bare, tls = asyncpg_connect(url)
    return StatementPool(bare, {**CONNECT_ARGS, **tls}, size=READ_CONNECTIONS)


class SqlTaskStore:
    """The TaskStore of one store's System Five database."""

    def __init__(
        self,
        url: str,
        time_zone: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        engine: AsyncEngine | None = None,
    ) -> None:
        zone(time_zone)  # an unknown zone fails here, at construction, not mid-cycle
        keep_driver_logs_quiet()
        self.time_zone = time_zone
        self.engine = engine if engine is not None else _engine(async_url(url))
        self._pg = _read_pool(url) if engine is None else None
        # Reads are one statement each (R1's candidates in one query): no BEGIN/ROLLBACK
        # round trips around them (issue 12: every idle cycle makes one).
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock

    @asynccontextmanager
    async def _connection(
        self, operation: str, *, write: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """A connection (a transaction when `write`), driver failures as SystemFiveUnavailable.

        R17b: the engine sees one error it knows, never a driver exception; the message
        names no URL, password, SQL or values (R22).
        """
        try:
            async with self.engine.begin() if write else self.reads.connect() as conn:
                yield conn
        except IntegrityError as error:
            # A constraint of the store's schema refused the values (R23: reported, and
            # create_imported_task reads it as "the event's task exists already").
            raise SystemFiveRefused(
                f"System Five refused the values ({operation}): {type(error.orig).__name__}"
            ) from None
        except (DBAPIError, OSError, TimeoutError) as error:
            cause = getattr(error, "orig", None) or error
            first = (str(cause).splitlines() or [""])[0][:200]
            raise SystemFiveUnavailable(
                f"System Five database unavailable ({operation}): {type(cause).__name__}: {first}"
            ) from None

    async def _pg_rows(self, operation: str, sql: str, *args: object) -> list[Any]:
        """`sql` on the asyncpg pool, driver failures as SystemFiveUnavailable (R17b, R22:
        no URL, password, SQL or value in the message)."""
        assert self._pg is not None
        try:
            return await self._pg.fetch(sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            first = (str(error).splitlines() or [""])[0][:200]
            raise SystemFiveUnavailable(
                f"System Five database unavailable ({operation}): {type(error).__name__}: {first}"
            ) from None

    async def close(self) -> None:
        """Release the connection pools."""
        await self.engine.dispose()
        if self._pg is not None:
            await self._pg.close()

    def _snapshots(self, rows: Sequence[Any]) -> list[TaskSnapshot]:
        result = []
        for row in rows:
            task = snapshot_or_unreadable(row, self.time_zone)
            if task is None:
                # R23: a row whose id is not a number names no task: left out, said here.
                log.warning("systemfive.task_without_id")
                continue
            if task.unreadable is not None:
                # R23: one unreadable row never stops the cycle, and is never taken as a
                # deleted one: the rules skip it with the reason.
                log.warning("systemfive.task_unreadable", extra={"task_id": task.id})
            result.append(task)
        return result

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        """R1: the employee's Customer and Delivery tasks with Sync ticked, in one query."""
        if self._pg is not None:
            rows = await self._pg_rows("push_candidates", PUSH_CANDIDATES_PG, employee_id)
            return self._snapshots(rows)
        async with self._connection("push_candidates") as conn:
            result = await conn.execute(statements.PUSH_CANDIDATES, {"employee_id": employee_id})
            return self._snapshots(result.mappings().all())

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        """The tasks that still exist among `task_ids` (absent = deleted in System Five)."""
        if not task_ids:
            return {}
        async with self._connection("tasks_by_id") as conn:
            return await self._by_id(conn, sorted(set(task_ids)))

    async def _by_id(self, conn: AsyncConnection, task_ids: list[int]) -> dict[int, TaskSnapshot]:
        found: dict[int, TaskSnapshot] = {}
        # Chunked so a long mapping never exceeds a driver's bound-parameter limit
        # (SQLite 32766, asyncpg 32767); a cycle's ids normally fit in one statement.
        for first in range(0, len(task_ids), ID_CHUNK):
            chunk = task_ids[first : first + ID_CHUNK]
            result = await conn.execute(statements.TASKS_BY_ID, {"task_ids": chunk})
            found.update((task.id, task) for task in self._snapshots(result.mappings().all()))
        return found

    async def task_by_external_ref(self, external_ref: str) -> TaskSnapshot | None:
        """R16b: the task imported from the event `external_ref`, if any."""
        async with self._connection("task_by_external_ref") as conn:
            return await self._by_external_ref(conn, external_ref)

    async def _by_external_ref(
        self, conn: AsyncConnection, external_ref: str
    ) -> TaskSnapshot | None:
        result = await conn.execute(statements.TASK_BY_EXTERNAL_REF, {"external_ref": external_ref})
        found = self._snapshots(result.mappings().all())
        return found[0] if found else None

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        """R9: a kind-Outlook task, Sync unticked, needs-review, `external_ref` set.

        Idempotent per `external_ref` (R16): when the event's task already exists, that
        task is returned unchanged instead of a second one.
        """
        values = fit(draft, self.time_zone)
        params = {
            "employee_id": employee_id,
            "title": values.title,
            "notes": values.notes,
            "starts_at": values.starts_at,
            "ends_at": values.ends_at,
            "alarm_minutes": values.alarm_minutes,
            "external_ref": external_ref,
            "updated_at": stamp(self._clock()),
        }
        try:
            async with self._connection("create_imported_task", write=True) as conn:
                result = await conn.execute(statements.INSERT_IMPORTED_TASK, params)
                task_id = result.scalar_one_or_none()
                created = None if task_id is None else await self._by_id(conn, [task_id])
        except SystemFiveRefused:
            # external_ref is unique: the event's task exists already (R16).
            existing = await self.task_by_external_ref(external_ref)
            if existing is None:
                raise
            if existing.employee_id != employee_id:
                # R22: another employee's task names this event; it is never taken over.
                raise SystemFiveRefused(
                    "System Five refused the values (create_imported_task): a task of "
                    "another employee already names this event"
                ) from None
            return existing
        if task_id is None or created is None:
            raise UnknownEmployee(
                f"System Five refused a task for employee {employee_id}: no such employee"
            )
        return _with_adaptations(created[task_id], values.adaptations)

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        """R10/R12/R12b: overwrite the owned fields and flag needs-review, optimistically.

        Returns `WriteConflict` (with the task as it is now, or None when it was deleted)
        when the task was saved in System Five after `seen_updated_at` was read.
        """
        values = fit(draft, self.time_zone)
        params = {
            "task_id": task_id,
            "seen_updated_at": seen_updated_at,
            "title": values.title,
            "notes": values.notes,
            "starts_at": values.starts_at,
            "ends_at": values.ends_at,
            "alarm_minutes": values.alarm_minutes,
            "updated_at": stamp(self._clock(), seen_updated_at),
        }
        # One transaction: the task read back is the one this update wrote.
        async with self._connection("update_task_from_event", write=True) as conn:
            result = await conn.execute(statements.UPDATE_TASK_FROM_EVENT, params)
            saved = result.rowcount == 1
            current = (await self._by_id(conn, [task_id])).get(task_id)
        if not saved or current is None:
            return WriteConflict(task_id=task_id, current=current)
        return _with_adaptations(current, values.adaptations)

    async def saves_since(self, since: str, last_id: int, limit: int) -> list[Saved]:
        """R14b: tasks created or saved at or after `since`, or inserted after `last_id`
        (the store-wide watcher)."""
        params = {"since": since, "last_id": last_id, "limit": limit}
        async with self._connection("saves_since") as conn:
            result = await conn.execute(statements.TASKS_SAVED_SINCE, params)
            return [saved(row) for row in result.mappings().all()]

    async def latest_save(self) -> Latest:
        async with self._connection("latest_save") as conn:
            row = (await conn.execute(statements.LATEST_SAVE)).mappings().one()
        latest, last_id = row["latest"], row["last_id"]
        return Latest(
            None if latest is None else str(latest),
            last_id if isinstance(last_id, int) else None,
        )

    async def employees(self) -> list[Employee]:
        """Every employee, for onboarding (R20)."""
        async with self._connection("employees") as conn:
            result = await conn.execute(statements.EMPLOYEES)
            return [_employee(row) for row in result.mappings().all()]

    async def employee_by_email(self, email: str) -> Employee | None:
        """R20: the employee with this e-mail (any letter case), the lowest id if several."""
        async with self._connection("employee_by_email") as conn:
            result = await conn.execute(statements.EMPLOYEE_BY_EMAIL, {"email": email})
            row = result.mappings().first()
            return None if row is None else _employee(row)


def _employee(row: Any) -> Employee:
    return Employee(id=int(row["id"]), code=row["code"], name=row["name"], email=row["email"] or "")


def _with_adaptations(task: TaskSnapshot, adaptations: tuple[str, ...]) -> TaskSnapshot:
    return replace(task, time_notes=adaptations + task.time_notes)


if TYPE_CHECKING:
    # mypy proves the adapter implements the port (nothing runs here).
    _port: TaskStore = SqlTaskStore("sqlite://", "UTC")
