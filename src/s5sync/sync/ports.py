"""Ports: small Protocols in our own words (STYLE.md habits 4–6).

Each port returns our frozen dataclasses (core.snapshots), never ORM rows or Graph JSON.
Each has an in-memory fake in `s5sync.testing` and one contract suite in
`tests/contract/` run on the fake and on every real adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from s5sync.core.records import (
    ActivityEntry,
    CachedEvent,
    DeltaRecord,
    Lease,
    Outcome,
    TenantRecord,
    UserRecord,
)
from s5sync.core.snapshots import EventSnapshot, Link, TaskDraft, TaskSnapshot


@dataclass(frozen=True)
class Employee:
    """A System Five employee, for onboarding (R20)."""

    id: int
    code: str
    name: str
    email: str


@dataclass(frozen=True)
class WriteConflict:
    """An optimistic write lost: the task was saved in System Five meanwhile (R12b).

    The engine decides again on the next cycle with the new values.
    """

    task_id: int
    current: TaskSnapshot | None


class TaskStore(Protocol):
    """The System Five side of one store (R1, R4, R9–R13)."""

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        """R1: the employee's Customer and Delivery tasks with Sync ticked, in one query."""
        ...

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        """The tasks that still exist among `task_ids` (absent = deleted in System Five)."""
        ...

    async def task_by_external_ref(self, external_ref: str) -> TaskSnapshot | None:
        """R16b: the task imported from the event `external_ref`, if any."""
        ...

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        """R9: a kind-Outlook task, Sync unticked, needs-review, `external_ref` set.

        Idempotent per `external_ref` (R16, R16b): when System Five already holds the
        event's task (its unique column refused a second), that task is returned. The
        adapter translates its driver's errors (a unique-constraint violation of its
        own schema); nothing of a database driver reaches the cycle."""
        ...

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        """R10/R12/R12b: overwrite the owned fields and flag needs-review, optimistically."""
        ...

    async def employees(self) -> list[Employee]:
        """Every employee, for onboarding (R20)."""
        ...

    async def employee_by_email(self, email: str) -> Employee | None:
        """R20: the employee with this e-mail (any letter case), proposed at onboarding."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class EventChange:
    """One delta item: the event's id and the snapshot fields it carried.

    `fields` uses EventSnapshot's field names; a delta item may carry only some of them
    (Graph's overview: updates may show only changed properties), so the cycle merges
    them into its window cache. `problems` lists malformed values found while parsing
    (R23), each a short sentence; the item is still returned.
    """

    event_id: str
    fields: dict[str, object]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class WindowRead:
    """What one read of the window brought (DESIGN.md "Reading Outlook").

    `removed` are ids Graph reported `@removed` — deleted, or moved out of the window:
    confirm with `get_event` before treating a pushed event as deleted (R7b).
    `rebaselined` is True when this read started over (no delta link, 410 Gone,
    syncStateNotFound, resyncRequired): after it, absence is not deletion, and the cycle
    replaces its cache with `changed`.
    """

    changed: list[EventChange]
    removed: list[str]
    delta_link: str
    rebaselined: bool
    window_start: datetime
    window_end: datetime
    # R23: items that could not be read at all (no id…), each a sentence for the log.
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventWrite:
    """The owned fields s5sync writes on an event (R5), and its identity (R16b).

    `body_html` already holds the maps-link block (R4). `reminder_minutes` None turns
    the reminder off. `categories` is the complete list to set (the user's own
    categories kept, s5sync's put back). `transaction_id` is sent on creates only;
    `task_ref` on every write (an adopted event may lack the property). `is_all_day`
    is always sent, so an event the user made all-day takes the task's times (R5).
    """

    subject: str
    body_html: str
    start: datetime
    end: datetime
    reminder_minutes: int | None
    categories: tuple[str, ...]
    task_ref: str | None = None
    transaction_id: str | None = None
    is_all_day: bool = False
    location: str | None = None  # R4b: sent on creates only


@dataclass(frozen=True)
class CategoriesWrite:
    """R6b: an update that sets the event's categories and nothing else."""

    categories: tuple[str, ...]


class WriteStatus(StrEnum):
    OK = "ok"
    CONFLICT = "conflict"  # 412: the event changed since its change key was read
    GONE = "gone"  # 404: deleted in Outlook
    BAD_ID = "bad_id"  # 400 ErrorInvalidIdMalformed: our stored id is damaged, never a deletion
    FAILED = "failed"  # a permanent error for this item (R23): reported, not retried
    NOT_DONE = "not_done"  # throttled or transient beyond this cycle's patience


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write of a batch, in the order the writes were given.

    `retry_at` is set on NOT_DONE when Graph asked to come back later (R23b), so the
    cycle can set the user's next run.
    """

    status: WriteStatus
    event: EventSnapshot | None = None
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class EventUpdate:
    event_id: str
    change_key: str | None
    write: EventWrite | CategoriesWrite


@dataclass(frozen=True)
class MasterCategory:
    """A category of the user's master list (R3, R6b), as Graph names it."""

    id: str
    name: str
    color: str


class CalendarGateway(Protocol):
    """One user's Outlook calendar (R3, R5, R8, R16b, R23b), in as few requests as can be."""

    async def read_window(
        self, delta_link: str | None, window_start: datetime, window_end: datetime
    ) -> WindowRead:
        """Follow the delta link (or start a new window) through every page."""
        ...

    async def get_event(self, event_id: str) -> EventSnapshot | None:
        """One event with its task reference; None when it no longer exists (404).
        Raises `MalformedEventId` when the id itself is damaged (R7b: not a deletion)."""
        ...

    async def find_by_task_refs(self, task_refs: Sequence[str]) -> dict[str, EventSnapshot]:
        """R16b: events carrying these task identities, wherever they are in time."""
        ...

    async def write_events(
        self, creates: Sequence[EventWrite], updates: Sequence[EventUpdate]
    ) -> tuple[list[WriteResult], list[WriteResult]]:
        """Create events (POST) and PATCH the owned fields of others (with If-Match),
        together in the same `$batch`es of 20, so k writes of either kind cost ceil(k/20)
        requests (DESIGN.md "Requests per cycle"); one result per write, in order, for
        the creates and for the updates."""
        ...

    async def ensure_category(self, name: str, color: str) -> bool:
        """R3: the category exists in the master list; True if it had to be created."""
        ...

    async def apply_category(
        self, name: str, color: str, known_id: str | None = None
    ) -> MasterCategory:
        """R3, R6b, R21b: the category exists in the master list with this colour.

        With `known_id` (remembered from an earlier answer) a colour change costs one
        request; without it, or when that id is gone, the list is read and the category
        created or recoloured as needed."""
        ...


@dataclass(frozen=True)
class SignedIn:
    """Who completed Microsoft's sign-in (R19), with their serialized token cache."""

    ms_tenant_id: str
    object_id: str
    email: str
    display_name: str
    token_cache: str
    scopes: frozenset[str]


class SignInFailed(Exception):
    """The sign-in could not be completed; the message can be shown to the user."""


class SignInProvider(Protocol):
    """Microsoft's authorization-code flow (R19): MSAL does PKCE, state and nonce."""

    async def begin(self, redirect_uri: str) -> tuple[str, str, str]:
        """(authorization URL, state, serialized flow to keep server-side)."""
        ...

    async def complete(self, flow: str, response: dict[str, str]) -> SignedIn:
        """Redeem the code of the callback's form post; `SignInFailed` on any error."""
        ...


@dataclass
class UserPorts:
    """The two outside systems of one user for one cycle, and its Graph request count
    so far by "METHOD route" (for the sync_run row and /metrics)."""

    tasks: TaskStore
    calendar: CalendarGateway
    requests: Callable[[], Mapping[str, int]] = dict


# -- the CALENDAREVENT database as one cycle sees it -------------------------------------


class Refusal(StrEnum):
    """Why `CycleStore.start` took no lease (the cycle ends with the same `Outcome`)."""

    BUSY = "busy"
    NOT_ONBOARDED = "not_onboarded"


@dataclass(frozen=True)
class CycleStart:
    """What a cycle starts from, read with its lease in one transaction (R16, R18)."""

    tenant: TenantRecord
    user: UserRecord
    lease: Lease
    run_id: int
    previous_skips: frozenset[
        tuple[object, ...]
    ]  # the last cycle's that finished holding its lease (R18)
    links: tuple[Link, ...]
    category_ready: str | None
    delta: DeltaRecord | None
    # The cached events that can matter: linked, tagged or carrying our identity (the
    # rules ignore every other unlinked event, so an idle cycle never reads them).
    cached: Mapping[str, CachedEvent]


@dataclass(frozen=True)
class WindowSave:
    """A delta read merged into the window cache, saved with its new delta link in one
    transaction (DESIGN.md "Reading Outlook"). `rebaselined`: the cache becomes exactly
    `upserts`."""

    delta: DeltaRecord
    upserts: tuple[CachedEvent, ...] = ()
    removed: tuple[str, ...] = ()
    rebaselined: bool = False


@dataclass(frozen=True)
class CycleEnd:
    """How a cycle ended (R18): its run row, its activity, when the user is due next, and
    the window when it was not saved before (a cycle that wrote nothing saves it here)."""

    run_id: int
    now: datetime  # the cycle's `now`: its activity is logged at it
    finished_at: datetime
    outcome: Outcome
    status: str
    next_run_at: datetime
    counts: Mapping[str, int]
    graph_requests: Mapping[str, int]
    skip_keys: Sequence[Sequence[object]]
    entries: Sequence[ActivityEntry]
    error: str | None = None
    window: WindowSave | None = None
    # R14c: the resync request this cycle carried out (cleared unless made since).
    resync_of: datetime | None = None


class LinkWrites(Protocol):
    """Mapping rows written inside one fenced transaction (R16)."""

    async def add(self, user_id: int, link: Link, now: datetime) -> None: ...

    async def replace(self, user_id: int, old: Link, new: Link, now: datetime) -> None: ...

    async def delete(self, user_id: int, link: Link) -> None: ...


class CycleStore(Protocol):
    """One store's CALENDAREVENT rows as the cycle reads and writes them.

    Every write after `start` is fenced by the lease: a cycle whose lease was taken over
    writes nothing (`LeaseLost`), except its own run row and activity at `finish`."""

    async def start(
        self, user_id: int, holder: str, now: datetime, ttl: timedelta
    ) -> CycleStart | Refusal:
        """Take the lease (for at most `ttl`, and less than the store's interval), open
        the run row, read what the cycle starts from. Refused: `Refusal.NOT_ONBOARDED`
        (R20) or `Refusal.BUSY` (another cycle of this user holds the lease)."""
        ...

    async def cached(self, user_id: int, event_ids: Sequence[str] | None) -> dict[str, CachedEvent]:
        """Cached events by id (None: the whole window, relevant or not)."""
        ...

    async def save_window(self, lease: Lease, window: WindowSave) -> None: ...

    async def mark_category_ready(self, lease: Lease, name: str) -> None: ...

    def link_writes(
        self, lease: Lease, window: WindowSave | None = None
    ) -> AbstractAsyncContextManager[LinkWrites]:
        """One fenced transaction for mapping rows; `window`, when given, is saved in it
        before them (as `save_window` would: one transaction instead of two)."""
        ...

    async def finish(self, lease: Lease, end: CycleEnd) -> None:
        """Record the run and its activity; release the lease (and save `end.window`)
        only if the lease is still ours."""
        ...
