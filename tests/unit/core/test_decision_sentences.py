"""Every decision reads as one plain sentence in the activity log (R18)."""

from __future__ import annotations

from datetime import timedelta

from s5sync.core.decisions import (
    AdoptEvent,
    CreateEvent,
    CreateTask,
    MarkDeletedInOutlook,
    Skip,
    UpdateEvent,
    UpdateTask,
    writes,
)
from s5sync.core.reasons import PHRASES, Direction, Reason
from s5sync.core.snapshots import Origin, TaskDraft
from support.core_builders import NOW, decide, event, task


def test_every_reason_has_a_phrase_R18() -> None:
    assert set(PHRASES) == set(Reason)


def test_sentences_for_writes_R18() -> None:
    create_event, create_task = decide([task()], [event()])
    assert isinstance(create_event, CreateEvent)
    assert create_event.describe() == (
        "Sent 'Visit Smith' to Outlook as a new event: a Customer or Delivery task with Sync ticked"
    )
    assert isinstance(create_task, CreateTask)
    assert create_task.describe() == (
        "Imported 'Lunch with Bob [sync]' from Outlook as a new task flagged for review: "
        "the event carries the sync tag"
    )
    update = UpdateEvent(1, "ev", "Visit", create_event.payload, "h", "e")
    assert update.describe() == "Updated Outlook event 'Visit': the task changed in System Five"
    draft = TaskDraft("T", "notes", NOW, NOW + timedelta(hours=1), None)
    plain = UpdateTask(1, "ev", "v1", "T", draft, "e", "ck", "h")
    assert plain.describe() == (
        "Updated task 'T' from Outlook and flagged it for review: the event changed in Outlook"
    )
    conflict = UpdateTask(
        1,
        "ev",
        "v1",
        "T",
        draft,
        "e",
        "ck",
        "h",
        Reason.CONFLICT_OUTLOOK_WINS,
        replaced=TaskDraft("Old", "abc", NOW, NOW + timedelta(hours=2), 10),
    )
    assert conflict.describe().endswith(
        "replaced System Five values: title 'Old', start 2026-11-25 15:00 UTC, "
        "end 2026-11-25 17:00 UTC, alarm 10 min, notes of 3 characters"
    )
    no_alarm = UpdateTask(
        1, "ev", "v1", "T", draft, "e", "ck", "h", Reason.CONFLICT_OUTLOOK_WINS, replaced=draft
    )
    assert "alarm none" in no_alarm.describe()
    assert writes([create_event, create_task, update, plain]) == [
        create_event,
        create_task,
        update,
        plain,
    ]


def test_sentences_for_the_rest_R18() -> None:
    skip = Skip(Reason.OUTSIDE_WINDOW, Direction.IMPORT, "Trip [sync]", event_id="e", detail="d")
    assert skip.describe() == "Not imported yet: 'Trip [sync]': d"
    assert skip.key == (Reason.OUTSIDE_WINDOW, None, "e")
    gone = MarkDeletedInOutlook(1, "e", "Visit")
    adopt = AdoptEvent(1, "e", Origin.S5, "Visit", "h", "ck")
    assert writes([skip, gone, adopt]) == []
