"""Decisions that write CALENDAREVENT rows only (R15, R17): adoptions, deletion marks
and recorded skips, in one fenced transaction; a standing skip writes nothing (issue 12).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    Decision,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Skip,
)
from s5sync.core.snapshots import Link, LinkState, Origin
from s5sync.sync.ports import (
    LinkWrites,
)
from s5sync.sync.writer import Writer, entry

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


async def write_link_only(w: Writer, decisions: Sequence[Decision]) -> None:
    """Adoptions, deletion marks and recorded skips: CALENDAREVENT rows only."""
    if any(link_only(d) and writes_rows(d) for d in decisions):
        async with w.begin() as rows:
            await save_link_only(w, rows, decisions)
    # A standing skip writes nothing: no transaction (issue 12: CPU per idle cycle).
    w.done.entries += [entry(d) for d in decisions if link_only(d)]


async def save_link_only(w: Writer, unit: LinkWrites, decisions: Sequence[Decision]) -> None:
    for d in decisions:
        if not link_only(d):
            continue
        if isinstance(d, AdoptEvent):
            old = w.index.find(d.task_id, d.event_id)
            await w.save(
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
            await w.save(
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
            old = w.index.find(d.task_id, d.event_id)
            if old is not None:
                # The hashes of this cycle, so a change seen now is not reported
                # again as a later change (R17).
                new = replace(
                    old,
                    state=LinkState.OUTLOOK_DELETED,
                    task_hash=d.task_hash or old.task_hash,
                )
                await w.save(unit, new)
        elif isinstance(d, MarkTaskDeleted):
            await w.task_deleted(unit, d, d.change_key)
        elif isinstance(d, Skip) and d.record is not None:
            old = w.index.find(d.task_id, d.event_id)
            if old is not None:
                await w.save(
                    unit,
                    replace(
                        old,
                        task_hash=d.record.task_hash or old.task_hash,
                        event_hash=d.record.event_hash or old.event_hash,
                        change_key=d.record.change_key or old.change_key,
                    ),
                )
