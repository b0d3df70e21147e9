"""A resync's choices as tables (R14c, R16b, R6b; issue 21 item 2): which mapping rows
the identities contradict, which pairs differ, what is re-pushed and what is restored —
never a deletion or a second event."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from s5sync.core.decisions import CreateEvent, UpdateEvent
from s5sync.core.html_text import html_to_text
from s5sync.core.payloads import event_payload, task_ref
from s5sync.core.reasons import Reason
from s5sync.core.resync import contradicted, differs, repair, restore
from s5sync.core.rules import decide_cycle
from s5sync.core.snapshots import EventSnapshot, LinkState, TaskSnapshot
from support.core_builders import EMPLOYEE, NOW, OPTIONS, event, link, task

OURS = OPTIONS.category_name
REMOVED = OPTIONS.removed_category_name


def in_step(t: TaskSnapshot, **changes: object) -> EventSnapshot:
    """The task's event as a push wrote it (Graph giving the body as text)."""
    p = event_payload(t, None, OPTIONS, new=True)
    e = event(
        "ev-1",
        subject=p.subject,
        body=p.body_html,
        start=p.start,
        end=p.end,
        reminder_minutes=p.reminder_minutes,
        body_is_html=True,
        categories=(OURS,),
        task_ref=task_ref(t.id),
    )
    return replace(e, **changes)  # type: ignore[arg-type]


def resync(
    tasks: list[TaskSnapshot], events: list[EventSnapshot], links: list[object]
) -> list[object]:
    return list(
        decide_cycle(tasks, events, links, OPTIONS, NOW, employee_id=EMPLOYEE, resync=True)  # type: ignore[arg-type]
    )


def test_a_pair_in_step_is_not_repaired_even_with_other_line_breaks_R14c() -> None:
    t = task()
    e = in_step(t)
    assert not differs(t, e, OPTIONS)
    text = html_to_text(e.body)
    as_text = replace(e, body=text.replace("\n\n", "\r\n"), body_is_html=False)
    assert "\n\n" in text
    assert not differs(t, as_text, OPTIONS)
    assert resync([t], [as_text], [link(t, e)]) == []


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("subject", "Someone changed me"),
        ("start", NOW + timedelta(days=1, hours=5)),
        ("reminder_minutes", None),
        ("body", "<p>nothing of ours</p>"),
        ("categories", ("Personal",)),
    ],
)
def test_a_pair_that_differs_is_re_pushed_by_a_resync_only_R14c_R5(
    change: str, value: object
) -> None:
    t = task()
    e = in_step(t, **{change: value})
    assert differs(t, e, OPTIONS)
    stored = link(t, in_step(t))
    # A normal cycle leaves it (R7: Outlook edits are not sent back, nor overwritten).
    assert decide_cycle([t], [e], [stored], OPTIONS, NOW, employee_id=EMPLOYEE) == []
    [fixed] = resync([t], [e], [stored])
    assert isinstance(fixed, UpdateEvent)
    assert fixed.reason is Reason.RESYNC_REPAIRED
    assert OURS in (fixed.payload.categories or ())


@pytest.mark.parametrize(
    "blocked",
    [
        task(sync=False),
        task(start=NOW - timedelta(hours=1)),
        task(employee_id=EMPLOYEE + 1),
    ],
)
def test_a_task_the_rules_would_not_send_is_never_repaired_R1_R2(blocked: TaskSnapshot) -> None:
    e = in_step(task(), subject="Edited")
    assert repair(blocked, e, OPTIONS, NOW, EMPLOYEE) is None


def test_the_identity_an_event_carries_contradicts_a_wrong_row_R16b() -> None:
    a, b = task(1), task(2, title="Other")
    ea = in_step(a)
    eb = replace(in_step(b), id="ev-2")
    right, crossed = link(a, ea), replace(link(b, eb), event_id="ev-1")
    assert contradicted([right], {"ev-1": ea}) == ()
    assert contradicted([crossed], {"ev-1": ea, "ev-2": eb}) == (crossed,)
    stopped = replace(crossed, state=LinkState.TASK_DELETED)
    assert contradicted([stopped], {"ev-1": ea}) == ()


def test_a_stopped_event_whose_task_is_the_users_again_is_restored_R6b_R14c() -> None:
    t = task()
    e = in_step(t, categories=(OURS, "Personal", REMOVED))
    stopped = replace(link(t, e), state=LinkState.TASK_DELETED)
    [back] = resync([t], [e], [stopped])
    assert isinstance(back, UpdateEvent)
    assert back.restores
    assert back.reason is Reason.RESYNC_RESTORED
    assert back.payload.categories == (OURS, "Personal")  # the user's own kept (R5)
    # Without a resync nothing changes (R6b: the mark is never taken off by itself).
    assert decide_cycle([t], [e], [stopped], OPTIONS, NOW, employee_id=EMPLOYEE) == []


@pytest.mark.parametrize(
    "still",
    [task(employee_id=EMPLOYEE + 1), task(sync=False), task(start=NOW - timedelta(hours=2))],
)
def test_a_stopped_event_stays_stopped_when_its_task_is_not_the_users_to_send_R6b(
    still: TaskSnapshot,
) -> None:
    e = in_step(task(), categories=(OURS, REMOVED))
    stopped = replace(link(still, e), state=LinkState.TASK_DELETED)
    assert restore(stopped, still, e, OPTIONS, NOW, EMPLOYEE) is None
    assert not any(
        isinstance(d, UpdateEvent | CreateEvent) for d in resync([still], [e], [stopped])
    )


def test_an_event_deleted_in_outlook_is_not_recreated_by_a_resync_R7b() -> None:
    t = task()
    e = in_step(t)
    gone = replace(link(t, e), state=LinkState.OUTLOOK_DELETED)
    assert resync([t], [], [gone]) == []
