"""Safe staff mapping (issue 21 item 4; R20, R6, R6b) through both emulators.

The story from the issue: mapping Bob to Dave Okafor's employee record is first said in
words and done only when confirmed; a POST without the confirmation changes nothing.
After the confirm-and-undo, Dave's deliveries already sent to Bob's calendar stay (R6)
but carry the "Removed from System Five" category (R6b) and no further update reaches
Bob's calendar; the activity log and the audit trail say who did it."""

from __future__ import annotations

import html
from datetime import datetime

from s5emu.desk import TaskForm
from s5sync.store.audit import AuditAction
from support.web_pages import ALICE, BOB, post, tomorrow_at
from support.web_world import WebWorld

REMOVED = "Removed from System Five"


async def test_remap_is_confirmed_first_and_undone_safely_R20_R6_R6b(people: WebWorld) -> None:
    desk = people.stores["contoso"].desk
    dave = desk.add_employee("E004", "Dave Okafor", "dave@contoso.example")
    first = people.add_task(BOB, "Deliver the oak dresser", tomorrow_at(9), tomorrow_at(10), dave)
    people.add_task(BOB, "Deliver two chairs", tomorrow_at(11), tomorrow_at(12), dave)
    bob = await people.user(BOB)
    own = bob.employee_id
    assert own is not None
    alice = people.people[ALICE]
    token = await alice.csrf()
    path = f"/admin/users/{bob.id}/map"

    # 1. Without the confirmation: the preview in words, and nothing changes.
    preview = await alice.browser.post(path, data={"csrf_token": token, "employee_id": str(dave)})
    assert preview.status_code == 200
    assert (
        "Bob Nguyen will receive 2 future customer visits and deliveries of Dave Okafor, E004."
        in preview.text
    )
    assert (await people.user(BOB)).employee_id == own

    # 2. Confirmed: Bob is Dave for a cycle, and Dave's deliveries reach Bob's calendar.
    assert await post(alice.browser, token, path, employee_id=str(dave), confirm="yes") == 303
    assert "Saved." in (await alice.browser.get("/admin/users?saved=1")).text
    await people.cycle(BOB)
    assert sorted(e["subject"] for e in people.events(BOB)) == [
        "Deliver the oak dresser",
        "Deliver two chairs",
    ]

    # 3. The undo is previewed too: the two already sent stay, marked.
    undo = await alice.browser.post(path, data={"csrf_token": token, "employee_id": str(own)})
    said = f"2 already sent to Bob Nguyen stay in their calendar, marked '{REMOVED}'"
    assert said in html.unescape(undo.text)
    assert await post(alice.browser, token, path, employee_id=str(own), confirm="yes") == 303
    await people.cycle(BOB)
    events = people.events(BOB)
    assert len(events) == 2  # never deleted (R6), never duplicated (R16)
    assert all(REMOVED in e["categories"] for e in events)

    # 4. Dave's task changes: nothing reaches Bob's calendar any more.
    row = desk.task(first)
    assert row is not None
    form = TaskForm(
        kind="delivery", employee_id=dave, customer_id=None, title="Deliver the oak (moved)",
        notes="", starts_at=datetime.fromisoformat(tomorrow_at(14)),
        ends_at=datetime.fromisoformat(tomorrow_at(15)),
        alarm_minutes=None, sync=True,
    )  # fmt: skip
    assert desk.save_task(first, form)
    result = await people.cycle(BOB)
    assert result.wrote == 0
    assert sorted(e["subject"] for e in people.events(BOB)) == [
        "Deliver the oak dresser",
        "Deliver two chairs",
    ]

    # 5. Who did it: the activity log and the audit trail.
    async with people.services.scope(bob.tenant_id).begin(write=False) as unit:
        activity = [a.message for a in await unit.runs.activity(bob.id, limit=100)]
        audit = await unit.audit.lines()
    assert f"Mapped to System Five employee Dave Okafor, E004 by {ALICE}." in activity
    assert any("another employee's task" in line and REMOVED in line for line in activity)
    assert [(a.actor, a.action) for a in audit] == [(ALICE, AuditAction.USER_MAPPED)] * 2


async def test_unmap_and_remove_ask_first_and_change_nothing_unconfirmed_R20(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    token = await alice.csrf()
    unmap = await alice.browser.post(f"/admin/users/{bob.id}/unmap", data={"csrf_token": token})
    assert unmap.status_code == 200
    assert "Bob Nguyen will no longer be synced until mapped again" in unmap.text
    remove = await alice.browser.post(f"/admin/users/{bob.id}/remove", data={"csrf_token": token})
    assert remove.status_code == 200
    assert "Nothing is deleted in Outlook or in System Five." in remove.text
    assert await people.user(BOB) == bob
