"""One cycle's application in progress (R16, R18): `Writer` holds the cycle's store,
user, lease, `now`, ports and links (`LinkIndex`, kept current as rows are written) and
what it has done so far (`Applied`). Every CALENDAREVENT write goes through
`Writer.begin`, a transaction fenced by the lease.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from s5sync.core.decisions import (
    Decision,
    MarkTaskDeleted,
)
from s5sync.core.records import ActivityEntry, Lease, UserRecord
from s5sync.core.snapshots import Link, LinkState
from s5sync.sync.ports import (
    CycleStore,
    LinkWrites,
    UserPorts,
    WindowSave,
    WriteResult,
    WriteStatus,
)

BAD_ID = WriteStatus.BAD_ID


@dataclass
class Applied:
    """What applying produced: the activity, the items that failed, when to come back."""

    entries: list[ActivityEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retry_at: datetime | None = None


def entry(decision: Decision, message: str | None = None) -> ActivityEntry:
    """The activity row of a decision (R18)."""
    return ActivityEntry(
        direction=decision.direction.value,
        action=decision.action.value,
        reason=decision.reason.value,
        task_id=getattr(decision, "task_id", None),
        event_id=getattr(decision, "event_id", None),
        subject=decision.label,
        message=message or decision.describe(),
    )


class LinkIndex:
    """The user's links by task and by event, kept current as rows are written."""

    def __init__(self, links: Sequence[Link]) -> None:
        self.links = list(links)

    def find(self, task_id: int | None, event_id: str | None) -> Link | None:
        for link in self.links:
            if task_id is not None and link.task_id == task_id:
                return link
        for link in self.links:
            if event_id is not None and link.event_id == event_id:
                return link
        return None

    async def save(self, rows: LinkWrites, user_id: int, new: Link, now: datetime) -> None:
        old = self.find(new.task_id, new.event_id)
        if old is None:
            await rows.add(user_id, new, now)
            self.links.append(new)
        else:
            await rows.replace(user_id, old, new, now)
            self.links[self.links.index(old)] = new

    async def drop(self, rows: LinkWrites, user_id: int, link: Link) -> None:
        await rows.delete(user_id, link)
        self.links.remove(link)


def failed(done: Applied, d: Decision, result: WriteResult, what: str) -> None:
    reason = result.error or result.status.value
    if result.status is WriteStatus.NOT_DONE:
        reason = "Microsoft Graph is busy; it will be tried again on the next sync"
    if result.retry_at is not None:
        # R23b: a long throttle sets when the user's next cycle runs.
        done.retry_at = max(done.retry_at or result.retry_at, result.retry_at)
    done.failures.append(f"'{d.label}' {what} ({reason})")
    done.entries.append(entry(d, f"'{d.label}' {what}: {reason}"))


class UnsavedWindow(Protocol):
    """Where the cycle keeps its merged window until it is saved (`gather.Gathered`)."""

    window: WindowSave | None


class Writer:
    """One cycle's application: its store, user, lease, `now`, ports and links, and what
    it has done so far. Every CALENDAREVENT write is fenced by the lease.

    The window cache and its delta link are saved before anything is written: with the
    first fenced transaction of link rows (one statement on PostgreSQL, issue 25), or on
    their own just before a write that comes first (`window_first`). Once saved, the
    holder forgets it; a cycle that stops before keeps it for its finish (R16, R18)."""

    def __init__(
        self,
        store: CycleStore,
        user: UserRecord,
        lease: Lease,
        now: datetime,
        ports: UserPorts,
        index: LinkIndex,
        unsaved: UnsavedWindow | None = None,
    ) -> None:
        self.store, self.user, self.lease, self.now = store, user, lease, now
        self.ports, self.index = ports, index
        self.unsaved = unsaved
        self.done = Applied()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[LinkWrites]:
        """One fenced transaction of link rows; the window goes in the first."""
        window = None if self.unsaved is None else self.unsaved.window
        async with self.store.link_writes(self.lease, window) as rows:
            yield rows
        if window is not None and self.unsaved is not None:
            self.unsaved.window = None

    async def window_first(self) -> None:
        """The window saved on its own, before a write that is not a link row's."""
        if self.unsaved is not None and self.unsaved.window is not None:
            await self.store.save_window(self.lease, self.unsaved.window)
            self.unsaved.window = None

    async def save(self, rows: LinkWrites, link: Link) -> None:
        await self.index.save(rows, self.user.id, link, self.now)

    async def task_deleted(
        self, unit: LinkWrites, d: MarkTaskDeleted, change_key: str | None
    ) -> None:
        """R6, R11b: the link stops, holding the event's hashes of this cycle (R17)."""
        old = self.index.find(d.task_id, d.event_id)
        if old is not None:
            new = replace(
                old,
                state=LinkState.TASK_DELETED,
                event_hash=d.event_hash or old.event_hash,
                change_key=change_key or old.change_key,
            )
            await self.save(unit, new)
