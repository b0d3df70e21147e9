"""Writing events in the crash-safe order (R16, DESIGN.md "Writing without duplicates"):
the creates' pending rows (their `transactionId`) and the updates' expected hashes
(R17) are committed before the `$batch`es are sent; the results are recorded after;
rows Graph cannot read are repaired by identity (R16b).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from s5sync.core.decisions import CreateEvent, MarkDeletedInOutlook, MarkTaskDeleted, UpdateEvent
from s5sync.core.hashing import event_hash
from s5sync.core.reasons import Reason
from s5sync.core.recovery import transaction_id
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin
from s5sync.sync.adoptions import save_link_only
from s5sync.sync.patches import event_write, mark_batch, update_batch
from s5sync.sync.ports import (
    EventUpdate,
    LinkWrites,
    WriteResult,
    WriteStatus,
)
from s5sync.sync.relinking import find_damaged, relink, relinked_message, unrepaired_message
from s5sync.sync.writer import Writer, entry, failed


async def write_events(
    w: Writer,
    creates: Sequence[CreateEvent],
    updates: Sequence[UpdateEvent],
    events: Mapping[str, EventSnapshot],
    marks: Sequence[MarkTaskDeleted] = (),
) -> None:
    """Creates, updates and R6b's category marks go out in the same `$batch`es (k
    writes: ceil(k/20) requests, DESIGN.md "Requests per cycle"), after the creates'
    pending rows are committed."""
    txids = [
        d.transaction_id or transaction_id(w.user.tenant_id, w.user.id, d.task_id) for d in creates
    ]
    damaged: list[UpdateEvent] = []
    batch, gone = await update_batch(w.ports, updates, events, damaged)
    marked, settled = await mark_batch(w.ports, marks, events)
    async with w.begin() as unit:
        # R16: the pending rows are committed before anything is sent.
        for d, txid in zip(creates, txids, strict=True):
            old = w.index.find(d.task_id, None)
            if old is None or old.state is not LinkState.PENDING:
                pending = Link(d.task_id, None, Origin.S5, LinkState.PENDING, transaction_id=txid)
                await w.save(unit, pending)
        # R17: a crash after a PATCH must not make our own write look like an Outlook edit
        # (R12b would then flag the task and "replace" its values with themselves). The
        # hash the event is expected to read as is recorded first; the change key is kept,
        # so an update that never happens is not taken for a change either.
        for update, _ in batch:
            link = w.index.find(update.task_id, update.event_id)
            if link is not None:
                intent = replace(link, event_hash=update.predicted_event_hash)
                await w.save(unit, intent)
    writes = [
        event_write(d, d.payload.categories or (d.payload.category,), txid)
        for d, txid in zip(creates, txids, strict=True)
    ]
    patches = [u for _, u in batch] + [u for _, u in marked]
    created, updated = await w.ports.calendar.write_events(writes, patches)
    stale = await record_creates(w, creates, created)
    results = updated[: len(batch)]
    damaged += [
        d for (d, _), r in zip(batch, results, strict=True) if r.status is WriteStatus.BAD_ID
    ]
    await record_updates(w, batch, gone, results)
    await record_marks(w, marked, settled, updated[len(batch) :])
    await repair(w, damaged)
    if stale:
        await write_events(w, (), [u for u, _ in stale], {e.id: e for _, e in stale})


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


async def record_creates(
    w: Writer, creates: Sequence[CreateEvent], results: Sequence[WriteResult]
) -> list[tuple[UpdateEvent, EventSnapshot]]:
    """The created events linked; returns the resent creates whose answer is an
    older event that must still be updated (`resent`)."""
    stale: list[tuple[UpdateEvent, EventSnapshot]] = []
    if not creates:
        return stale
    async with w.begin() as unit:
        for d, result in zip(creates, results, strict=True):
            link = w.index.find(d.task_id, None)
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
                await w.save(unit, active)
                # The line names the new event, so the log can link to it (issue 20).
                w.done.entries.append(replace(entry(d), event_id=result.event.id))
                again = resent(d, result.event)
                if again is not None:
                    stale.append(again)
            else:
                failed(w.done, d, result, "could not be sent to Outlook")
                if result.status is WriteStatus.FAILED:
                    # Nothing was created: forget the pending row so it is tried afresh.
                    await w.index.drop(unit, w.user.id, link)
    return stale


async def record_updates(
    w: Writer,
    batch: Sequence[tuple[UpdateEvent, EventUpdate]],
    gone: Sequence[UpdateEvent],
    results: Sequence[WriteResult],
) -> None:
    if not batch and not gone:
        return
    async with w.begin() as unit:
        for d in gone:
            await mark_gone(w, unit, d)
        for (d, _), result in zip(batch, results, strict=True):
            link = w.index.find(d.task_id, d.event_id)
            if result.status is WriteStatus.OK and result.event is not None and link is not None:
                await w.save(
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
                w.done.entries.append(entry(d))
            elif result.status is WriteStatus.GONE:
                await mark_gone(w, unit, d)
            elif result.status is WriteStatus.BAD_ID:
                continue  # R7b: repaired after this unit, never marked gone
            elif result.status is WriteStatus.CONFLICT:
                # 412: changed in Outlook since read; the next cycle reads it and decides.
                w.done.entries.append(
                    entry(
                        d,
                        f"'{d.label}' changed in Outlook while s5sync was updating it: "
                        "it will be decided again on the next sync",
                    )
                )
            else:
                failed(w.done, d, result, "could not be updated in Outlook")


async def record_marks(
    w: Writer,
    marked: Sequence[tuple[MarkTaskDeleted, EventUpdate]],
    settled: Sequence[MarkTaskDeleted],
    results: Sequence[WriteResult],
) -> None:
    """R6b: the link stops once the Removed category is on the event (or the event is
    gone, or refused for good); a throttled or conflicting write leaves the link as it
    was, so the next cycle marks it again."""
    if not marked and not settled:
        return
    async with w.begin() as unit:
        for d in settled:
            await w.task_deleted(unit, d, None)
            w.done.entries.append(entry(d))
        for (d, _), result in zip(marked, results, strict=True):
            if result.status is WriteStatus.OK and result.event is not None:
                await w.task_deleted(unit, d, result.event.change_key)
                w.done.entries.append(entry(d))
            elif result.status is WriteStatus.GONE:
                await w.task_deleted(unit, d, None)
                w.done.entries.append(entry(d))
            elif result.status in (WriteStatus.FAILED, WriteStatus.BAD_ID):
                await w.task_deleted(unit, d, None)
                failed(w.done, d, result, "could not be marked as removed in Outlook")
            else:
                w.done.entries.append(
                    entry(
                        d,
                        f"'{d.label}' was deleted in System Five; its Outlook event "
                        "will be marked as removed on the next sync",
                    )
                )
                if result.retry_at is not None:
                    w.done.retry_at = max(w.done.retry_at or result.retry_at, result.retry_at)


async def mark_gone(w: Writer, unit: LinkWrites, d: UpdateEvent) -> None:
    """R7b: the event was deleted in Outlook; the task is never pushed to it again."""
    link = w.index.find(d.task_id, d.event_id)
    if link is not None:
        gone = replace(link, state=LinkState.OUTLOOK_DELETED, task_hash=d.task_hash)
        await w.save(unit, gone)
    mark = MarkDeletedInOutlook(d.task_id, d.event_id, d.label, task_hash=d.task_hash)
    w.done.entries.append(entry(mark))


async def repair(w: Writer, damaged: Sequence[UpdateEvent]) -> None:
    """R16b: rows whose event id Graph cannot read are reconnected by identity (R7b:
    never taken as a deletion); relinking.py."""
    if not damaged:
        return
    found, problem = await find_damaged(w.ports, damaged)
    async with w.begin() as unit:
        for d in damaged:
            link = w.index.find(d.task_id, None)
            event = found.get(d.task_id)
            if event is None or link is None:
                w.done.entries.append(entry(d, unrepaired_message(d, problem)))
                continue
            adopt = relink(d, event, link.origin)
            await save_link_only(w, unit, [adopt])
            w.done.entries.append(entry(adopt, relinked_message(d)))
