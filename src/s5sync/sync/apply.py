"""Applying one cycle's decisions in an order that is safe at every crash point (R16).

DESIGN.md "Writing without duplicates":
- push: the `pending` link row (with the event's `transactionId`) is committed *before*
  the POST; the event carries the task's identity, so a crash after the POST is resolved
  next cycle by that identity, never by posting blindly again;
- import: the `pending` row (with the event id) is committed before the task is
  inserted with `external_ref` = event id, which System Five keeps unique;
- every CALENDAREVENT write is fenced by the user's lease;
- System Five writes are optimistic (`updated_at` as seen); a task saved meanwhile is
  decided again next cycle;
- the hashes stored after a write are those of what the server returned, so our own
  writes are not seen as changes next cycle (R17).

Decisions come adoptions first, then push, then import (R15). One item that fails is
reported and the rest goes on (R23).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime

from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    CreateEvent,
    CreateTask,
    Decision,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Reason,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.eventbody import body_html, user_text
from s5sync.core.hashing import body_text, event_hash, task_hash
from s5sync.core.records import ActivityEntry, Lease, UserRecord
from s5sync.core.recovery import transaction_id
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin, StoreOptions
from s5sync.outlook.errors import MalformedEventId
from s5sync.sync.ports import (
    CategoriesWrite,
    CycleStore,
    EventUpdate,
    EventWrite,
    LinkWrites,
    UserPorts,
    WriteConflict,
    WriteResult,
    WriteStatus,
)
from s5sync.sync.relinking import find_damaged, relink, relinked_message, unrepaired_message

log = logging.getLogger(__name__)
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


async def apply_decisions(
    store: CycleStore,
    user: UserRecord,
    lease: Lease,
    now: datetime,
    options: StoreOptions,
    ports: UserPorts,
    decisions: Sequence[Decision],
    links: Sequence[Link],
    events: Mapping[str, EventSnapshot],
) -> Applied:
    """Apply every decision; returns the activity and the failures."""
    writer = _Writer(store, user, lease, now, ports, LinkIndex(links))
    await writer.link_only(decisions)
    creates = [d for d in decisions if isinstance(d, CreateEvent)]
    updates = [d for d in decisions if isinstance(d, UpdateEvent)]
    marks = [d for d in decisions if isinstance(d, MarkTaskDeleted) and d.removed is not None]
    if creates or updates or marks:
        await writer.write_events(creates, updates, events, marks)
    for decision in decisions:
        if isinstance(decision, CreateTask):
            await writer.create_task(decision)
        elif isinstance(decision, UpdateTask):
            await writer.update_task(decision)
    return writer.done


LINK_ONLY = (AdoptEvent, AdoptTask, MarkDeletedInOutlook, MarkTaskDeleted, Skip)


def marks_removed(decision: Decision) -> bool:
    """R6b: a deletion mark that first writes the Removed category on the event."""
    return isinstance(decision, MarkTaskDeleted) and decision.removed is not None


def link_only(decision: Decision) -> bool:
    return isinstance(decision, LINK_ONLY) and not marks_removed(decision)


def writes_rows(decision: Decision) -> bool:
    """Whether applying `decision` writes anything (a skip that records nothing does not)."""
    return not isinstance(decision, Skip) or decision.record is not None


def touches_anything(decisions: Sequence[Decision]) -> bool:
    """Whether applying the decisions writes to any side or to the mapping."""
    return any(writes_rows(d) for d in decisions)


def _write_of(
    d: CreateEvent | UpdateEvent, categories: tuple[str, ...], txid: str | None
) -> EventWrite:
    p = d.payload
    return EventWrite(
        subject=p.subject,
        body_html=p.body_html,
        start=p.start,
        end=p.end,
        reminder_minutes=p.reminder_minutes,
        categories=categories,
        task_ref=p.task_ref,
        transaction_id=txid,
        is_all_day=p.is_all_day,
        location=p.location,
    )


async def _update_batch(
    ports: UserPorts,
    updates: Sequence[UpdateEvent],
    events: Mapping[str, EventSnapshot],
    damaged: list[UpdateEvent],
) -> tuple[list[tuple[UpdateEvent, EventUpdate]], list[UpdateEvent]]:
    """The PATCHes to send, and the updates whose event is already known to be gone
    (those whose stored id Graph cannot read go to `damaged`: R7b, R16b)."""
    batch: list[tuple[UpdateEvent, EventUpdate]] = []
    gone: list[UpdateEvent] = []
    for d in updates:
        cached = events.get(d.event_id)
        categories = d.payload.categories
        if categories is None:
            # Beyond the cached window: read the event's own categories to keep them (R5).
            try:
                current = cached or await ports.calendar.get_event(d.event_id)
            except MalformedEventId:
                damaged.append(d)
                continue
            if current is None:
                gone.append(d)
                continue
            kept = current.categories
            categories = kept if d.payload.category in kept else (*kept, d.payload.category)
            if cached is None:
                # R5b: the user's text around s5sync's block is kept here too.
                around = user_text(body_text(current))
                body = body_html(d.payload.notes, d.payload.maps_url, around)
                d = replace(d, payload=replace(d.payload, body_html=body))
        change_key = cached.change_key if cached is not None else None
        batch.append((d, EventUpdate(d.event_id, change_key, _write_of(d, categories, None))))
    return batch, gone


async def _mark_batch(
    ports: UserPorts, marks: Sequence[MarkTaskDeleted], events: Mapping[str, EventSnapshot]
) -> tuple[list[tuple[MarkTaskDeleted, EventUpdate]], list[MarkTaskDeleted]]:
    """R6b: the categories-only PATCHes, and the marks with nothing to write (the event is
    gone, or carries the Removed category already: it is added once)."""
    batch: list[tuple[MarkTaskDeleted, EventUpdate]] = []
    settled: list[MarkTaskDeleted] = []
    for d in marks:
        mark, event_id = d.removed, d.event_id
        assert mark is not None
        assert event_id is not None
        categories, change_key = mark.categories, mark.change_key
        if categories is None:
            # Beyond the cached window: its own categories are read to keep them (R5).
            try:
                current = events.get(event_id) or await ports.calendar.get_event(event_id)
            except MalformedEventId:
                current = None  # R7b: a damaged stored id; the mark is given up, not retried
            if current is None or mark.category in current.categories:
                settled.append(d)
                continue
            categories, change_key = (*current.categories, mark.category), current.change_key
        batch.append((d, EventUpdate(event_id, change_key or None, CategoriesWrite(categories))))
    return batch, settled


def _failed(done: Applied, d: Decision, result: WriteResult, what: str) -> None:
    reason = result.error or result.status.value
    if result.status is WriteStatus.NOT_DONE:
        reason = "Microsoft Graph is busy; it will be tried again on the next sync"
    if result.retry_at is not None:
        # R23b: a long throttle sets when the user's next cycle runs.
        done.retry_at = max(done.retry_at or result.retry_at, result.retry_at)
    done.failures.append(f"'{d.label}' {what} ({reason})")
    done.entries.append(entry(d, f"'{d.label}' {what}: {reason}"))


class _Writer:
    """One cycle's application: its store, user, lease, `now`, ports and links, and what
    it has done so far. Every CALENDAREVENT write is fenced by the lease."""

    def __init__(
        self,
        store: CycleStore,
        user: UserRecord,
        lease: Lease,
        now: datetime,
        ports: UserPorts,
        index: LinkIndex,
    ) -> None:
        self.store, self.user, self.lease, self.now = store, user, lease, now
        self.ports, self.index = ports, index
        self.done = Applied()

    def begin(self) -> AbstractAsyncContextManager[LinkWrites]:
        return self.store.link_writes(self.lease)

    async def save(self, rows: LinkWrites, link: Link) -> None:
        await self.index.save(rows, self.user.id, link, self.now)

    async def link_only(self, decisions: Sequence[Decision]) -> None:
        """Adoptions, deletion marks and recorded skips: CALENDAREVENT rows only."""
        if any(link_only(d) and writes_rows(d) for d in decisions):
            async with self.begin() as rows:
                await self.save_link_only(rows, decisions)
        # A standing skip writes nothing: no transaction (issue 12: CPU per idle cycle).
        self.done.entries += [entry(d) for d in decisions if link_only(d)]

    async def save_link_only(self, unit: LinkWrites, decisions: Sequence[Decision]) -> None:
        for d in decisions:
            if not link_only(d):
                continue
            if isinstance(d, AdoptEvent):
                old = self.index.find(d.task_id, d.event_id)
                await self.save(
                    unit,
                    Link(
                        d.task_id,
                        d.event_id,
                        d.origin,
                        LinkState.ACTIVE,
                        transaction_id=old.transaction_id if old else None,
                        event_hash=d.event_hash,
                        change_key=d.change_key,
                    ),
                )
            elif isinstance(d, AdoptTask):
                await self.save(
                    unit,
                    Link(
                        d.task_id,
                        d.event_id,
                        Origin.OUTLOOK,
                        LinkState.ACTIVE,
                        task_hash=d.task_hash,
                        event_hash=d.event_hash,
                        change_key=d.change_key,
                    ),
                )
            elif isinstance(d, MarkDeletedInOutlook):
                old = self.index.find(d.task_id, d.event_id)
                if old is not None:
                    # The hashes of this cycle, so a change seen now is not reported
                    # again as a later change (R17).
                    new = replace(
                        old,
                        state=LinkState.OUTLOOK_DELETED,
                        task_hash=d.task_hash or old.task_hash,
                    )
                    await self.save(unit, new)
            elif isinstance(d, MarkTaskDeleted):
                await self.task_deleted(unit, d, d.change_key)
            elif isinstance(d, Skip) and d.record is not None:
                old = self.index.find(d.task_id, d.event_id)
                if old is not None:
                    await self.save(
                        unit,
                        replace(
                            old,
                            task_hash=d.record.task_hash or old.task_hash,
                            event_hash=d.record.event_hash or old.event_hash,
                            change_key=d.record.change_key or old.change_key,
                        ),
                    )

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

    async def write_events(
        self,
        creates: Sequence[CreateEvent],
        updates: Sequence[UpdateEvent],
        events: Mapping[str, EventSnapshot],
        marks: Sequence[MarkTaskDeleted] = (),
    ) -> None:
        """Creates, updates and R6b's category marks go out in the same `$batch`es (k
        writes: ceil(k/20) requests, DESIGN.md "Requests per cycle"), after the creates'
        pending rows are committed."""
        txids = [
            d.transaction_id or transaction_id(self.user.tenant_id, self.user.id, d.task_id)
            for d in creates
        ]
        damaged: list[UpdateEvent] = []
        batch, gone = await _update_batch(self.ports, updates, events, damaged)
        marked, settled = await _mark_batch(self.ports, marks, events)
        async with self.begin() as unit:
            # R16: the pending rows are committed before anything is sent.
            for d, txid in zip(creates, txids, strict=True):
                old = self.index.find(d.task_id, None)
                if old is None or old.state is not LinkState.PENDING:
                    pending = Link(
                        d.task_id, None, Origin.S5, LinkState.PENDING, transaction_id=txid
                    )
                    await self.save(unit, pending)
            # R17: a crash after a PATCH must not make our own write look like an Outlook edit
            # (R12b would then flag the task and "replace" its values with themselves). The
            # hash the event is expected to read as is recorded first; the change key is kept,
            # so an update that never happens is not taken for a change either.
            for update, _ in batch:
                link = self.index.find(update.task_id, update.event_id)
                if link is not None:
                    intent = replace(link, event_hash=update.predicted_event_hash)
                    await self.save(unit, intent)
        writes = [
            _write_of(d, d.payload.categories or (d.payload.category,), txid)
            for d, txid in zip(creates, txids, strict=True)
        ]
        patches = [u for _, u in batch] + [u for _, u in marked]
        created, updated = await self.ports.calendar.write_events(writes, patches)
        stale = await self.record_creates(creates, created)
        results = updated[: len(batch)]
        damaged += [d for (d, _), r in zip(batch, results, strict=True) if r.status is BAD_ID]
        await self.record_updates(batch, gone, results)
        await self.record_marks(marked, settled, updated[len(batch) :])
        await self.repair(damaged)
        if stale:
            await self.write_events((), [u for u, _ in stale], {e.id: e for _, e in stale})

    @staticmethod
    def resent(d: CreateEvent, event: EventSnapshot) -> tuple[UpdateEvent, EventSnapshot] | None:
        """R16, R16b (issue 23 item 5): a create resent under its transactionId (its
        mapping row was lost) is answered by Graph with the event it already made — as the
        user left it since (moved, retitled). When its time or subject is not what was
        sent, it is updated to the task's values in the same cycle; a subject the user
        only added to (a tag, R5) is kept. None: the answer is what was sent (every
        ordinary create), so no request is added."""
        sent = d.payload
        same_subject = event.subject == sent.subject
        if (event.start, event.end, event.is_all_day) == (
            sent.start,
            sent.end,
            sent.is_all_day,
        ) and same_subject:
            return None
        kept = event.subject or ""
        subject = kept if sent.subject.casefold() in kept.casefold() else sent.subject
        update = UpdateEvent(
            d.task_id,
            event.id,
            d.label,
            replace(sent, subject=subject, location=None),
            d.task_hash,
            d.predicted_event_hash,
            reason=Reason.RECOVERED_LINK,
        )
        return update, event

    async def record_marks(
        self,
        marked: Sequence[tuple[MarkTaskDeleted, EventUpdate]],
        settled: Sequence[MarkTaskDeleted],
        results: Sequence[WriteResult],
    ) -> None:
        """R6b: the link stops once the Removed category is on the event (or the event is
        gone, or refused for good); a throttled or conflicting write leaves the link as it
        was, so the next cycle marks it again."""
        if not marked and not settled:
            return
        async with self.begin() as unit:
            for d in settled:
                await self.task_deleted(unit, d, None)
                self.done.entries.append(entry(d))
            for (d, _), result in zip(marked, results, strict=True):
                if result.status is WriteStatus.OK and result.event is not None:
                    await self.task_deleted(unit, d, result.event.change_key)
                    self.done.entries.append(entry(d))
                elif result.status is WriteStatus.GONE:
                    await self.task_deleted(unit, d, None)
                    self.done.entries.append(entry(d))
                elif result.status in (WriteStatus.FAILED, BAD_ID):
                    await self.task_deleted(unit, d, None)
                    _failed(self.done, d, result, "could not be marked as removed in Outlook")
                else:
                    self.done.entries.append(
                        entry(
                            d,
                            f"'{d.label}' was deleted in System Five; its Outlook event "
                            "will be marked as removed on the next sync",
                        )
                    )
                    if result.retry_at is not None:
                        self.done.retry_at = max(
                            self.done.retry_at or result.retry_at, result.retry_at
                        )

    async def repair(self, damaged: Sequence[UpdateEvent]) -> None:
        """R16b: rows whose event id Graph cannot read are reconnected by identity (R7b:
        never taken as a deletion); relinking.py."""
        if not damaged:
            return
        found, problem = await find_damaged(self.ports, damaged)
        async with self.begin() as unit:
            for d in damaged:
                link = self.index.find(d.task_id, None)
                event = found.get(d.task_id)
                if event is None or link is None:
                    self.done.entries.append(entry(d, unrepaired_message(d, problem)))
                    continue
                adopt = relink(d, event, link.origin)
                await self.save_link_only(unit, [adopt])
                self.done.entries.append(entry(adopt, relinked_message(d)))

    async def record_creates(
        self, creates: Sequence[CreateEvent], results: Sequence[WriteResult]
    ) -> list[tuple[UpdateEvent, EventSnapshot]]:
        """The created events linked; returns the resent creates whose answer is an
        older event that must still be updated (`resent`)."""
        stale: list[tuple[UpdateEvent, EventSnapshot]] = []
        if not creates:
            return stale
        async with self.begin() as unit:
            for d, result in zip(creates, results, strict=True):
                link = self.index.find(d.task_id, None)
                assert link is not None
                if result.status is WriteStatus.OK and result.event is not None:
                    active = Link(
                        d.task_id,
                        result.event.id,
                        link.origin,
                        LinkState.ACTIVE,
                        transaction_id=link.transaction_id,
                        task_hash=d.task_hash,
                        event_hash=event_hash(result.event),
                        change_key=result.event.change_key,
                    )
                    await self.save(unit, active)
                    # The line names the new event, so the log can link to it (issue 20).
                    self.done.entries.append(replace(entry(d), event_id=result.event.id))
                    again = self.resent(d, result.event)
                    if again is not None:
                        stale.append(again)
                else:
                    _failed(self.done, d, result, "could not be sent to Outlook")
                    if result.status is WriteStatus.FAILED:
                        # Nothing was created: forget the pending row so it is tried afresh.
                        await self.index.drop(unit, self.user.id, link)
        return stale

    async def record_updates(
        self,
        batch: Sequence[tuple[UpdateEvent, EventUpdate]],
        gone: Sequence[UpdateEvent],
        results: Sequence[WriteResult],
    ) -> None:
        if not batch and not gone:
            return
        async with self.begin() as unit:
            for d in gone:
                await self.mark_gone(unit, d)
            for (d, _), result in zip(batch, results, strict=True):
                link = self.index.find(d.task_id, d.event_id)
                if (
                    result.status is WriteStatus.OK
                    and result.event is not None
                    and link is not None
                ):
                    await self.save(
                        unit,
                        replace(
                            link,
                            # R6b, R14c: a resync made a stopped link live again.
                            state=LinkState.ACTIVE if d.restores else link.state,
                            task_hash=d.task_hash,
                            event_hash=event_hash(result.event),
                            change_key=result.event.change_key,
                        ),
                    )
                    self.done.entries.append(entry(d))
                elif result.status is WriteStatus.GONE:
                    await self.mark_gone(unit, d)
                elif result.status is BAD_ID:
                    continue  # R7b: repaired after this unit, never marked gone
                elif result.status is WriteStatus.CONFLICT:
                    # 412: changed in Outlook since read; the next cycle reads it and decides.
                    self.done.entries.append(
                        entry(
                            d,
                            f"'{d.label}' changed in Outlook while s5sync was updating it: "
                            "it will be decided again on the next sync",
                        )
                    )
                else:
                    _failed(self.done, d, result, "could not be updated in Outlook")

    async def mark_gone(self, unit: LinkWrites, d: UpdateEvent) -> None:
        """R7b: the event was deleted in Outlook; the task is never pushed to it again."""
        link = self.index.find(d.task_id, d.event_id)
        if link is not None:
            gone = replace(link, state=LinkState.OUTLOOK_DELETED, task_hash=d.task_hash)
            await self.save(unit, gone)
        mark = MarkDeletedInOutlook(d.task_id, d.event_id, d.label, task_hash=d.task_hash)
        self.done.entries.append(entry(mark))

    async def create_task(self, d: CreateTask) -> None:
        async with self.begin() as unit:
            if self.index.find(None, d.event_id) is None:
                pending = Link(None, d.event_id, Origin.OUTLOOK, LinkState.PENDING)
                await self.save(unit, pending)
        try:
            # R16b: idempotent per external_ref, by the port's contract: the event's task,
            # when System Five holds it already, comes back instead of a second one.
            task = await self.ports.tasks.create_imported_task(d.employee_id, d.draft, d.event_id)
        except Exception as error:  # R23: one item never stops the cycle
            self.done.failures.append(f"'{d.label}' could not be imported ({type(error).__name__})")
            self.done.entries.append(
                entry(
                    d,
                    f"'{d.label}' could not be imported into System Five: "
                    f"{type(error).__name__}; it will be tried again",
                )
            )
            return
        async with self.begin() as unit:
            await self.save(unit, d.link(task))
        self.done.entries.append(replace(entry(d), task_id=task.id))  # linked (issue 20)

    async def update_task(self, d: UpdateTask) -> None:
        try:
            result = await self.ports.tasks.update_task_from_event(
                d.task_id, d.seen_updated_at, d.draft
            )
        except Exception as error:  # R23
            self.done.failures.append(f"'{d.label}' could not be updated ({type(error).__name__})")
            self.done.entries.append(
                entry(
                    d,
                    f"Task '{d.label}' could not be updated in System Five: "
                    f"{type(error).__name__}; it will be tried again",
                )
            )
            return
        if isinstance(result, WriteConflict):
            self.done.entries.append(
                entry(
                    d,
                    f"Task '{d.label}' was saved in System Five meanwhile: it will be "
                    "decided again on the next sync",
                )
            )
            return
        async with self.begin() as unit:
            link = self.index.find(d.task_id, d.event_id)
            if link is not None:
                await self.save(
                    unit,
                    replace(
                        link,
                        task_hash=task_hash(result),
                        event_hash=d.event_hash,
                        change_key=d.change_key,
                    ),
                )
        self.done.entries.append(entry(d))
