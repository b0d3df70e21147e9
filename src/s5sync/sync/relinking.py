"""A damaged mapping row repaired by the identity its event carries (R16b, R7b).

When Graph answers an event id we stored with 400 `ErrorInvalidIdMalformed` ("Id is
malformed.", graph.md §1), the CALENDAREVENT row is damaged (a bad restore, a hand
edit, a truncated column), not the event: it is never taken as a deletion in Outlook
(R7b). The task's identity, which every pushed event carries in its extended property,
finds the event again; the row is reconnected to it (an `AdoptEvent`, without a task
hash, so the next cycle sends the task's current values to it). When no event carries
the identity, the row is left as it is and the activity log says so: nothing is deleted
and nothing is created twice (R16).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from s5sync.core.decisions import AdoptEvent, UpdateEvent
from s5sync.core.hashing import event_hash
from s5sync.core.payloads import task_ref
from s5sync.core.snapshots import EventSnapshot, Origin
from s5sync.outlook.errors import NeedsSignIn, OutlookError
from s5sync.sync.ports import UserPorts

log = logging.getLogger(__name__)


async def find_damaged(
    ports: UserPorts, damaged: Sequence[UpdateEvent]
) -> tuple[dict[int, EventSnapshot], str | None]:
    """The events of the damaged rows' tasks, by task id, found by their identity; and
    why the lookup could not be made, if it could not."""
    refs = {d.task_id: task_ref(d.task_id) for d in damaged}
    try:
        found = await ports.calendar.find_by_task_refs(sorted(set(refs.values())))
    except NeedsSignIn:
        raise
    except OutlookError as error:
        return {}, str(error)
    return {task_id: found[ref] for task_id, ref in refs.items() if ref in found}, None


def relink(d: UpdateEvent, event: EventSnapshot, origin: Origin) -> AdoptEvent:
    log.warning("cycle.damaged_event_id task=%d repaired=true", d.task_id)
    return AdoptEvent(d.task_id, event.id, origin, d.label, event_hash(event), event.change_key)


def relinked_message(d: UpdateEvent) -> str:
    return (
        f"The mapping of '{d.label}' held a damaged Outlook event id; its event was found "
        "by the task identity it carries and reconnected (it is updated on the next sync)"
    )


def unrepaired_message(d: UpdateEvent, problem: str | None) -> str:
    log.warning("cycle.damaged_event_id task=%d repaired=false", d.task_id)
    why = f"Outlook could not be searched ({problem})" if problem else "no event carries it"
    return (
        f"The mapping of '{d.label}' holds a damaged Outlook event id and {why}: it is left "
        "as it is, never taken as a deletion"
    )
