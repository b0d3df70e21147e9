"""Resync (repair) from the pages (issue 21 item 2; R14c, R21d, R22): the administrator's
Resync button on the health page (audited, administrators only, scoped to the store)
and "Repair my sync", offered to the employee on the dashboard after an error. Either
asks for a repair; the user's next cycle carries it out and says what it did."""

from __future__ import annotations

from m365emu.faults import Fault, FaultKind
from s5sync.store.audit import AuditAction
from support.web_pages import ALICE, BOB, ERIN, post
from support.web_world import WebWorld


async def test_the_administrator_resyncs_a_user_from_the_health_page_audited_R14c_R21d(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    page = await alice.browser.get("/admin")
    assert f'action="/admin/users/{bob.id}/resync"' in page.text
    assert await post(alice.browser, await alice.csrf(), f"/admin/users/{bob.id}/resync") == 303
    asked = await people.user(BOB)
    assert asked.resync_requested_by == ALICE
    assert asked.sync_now_requested  # due at once
    assert f"repair asked by {ALICE}" in (await alice.browser.get("/admin")).text
    done = await people.cycle(BOB)
    assert done.outcome == "ok", done.error
    assert done.entries[-1].action == "resync"
    assert f"Repair asked by {ALICE}" in done.entries[-1].message
    assert (await people.user(BOB)).resync_requested_at is None
    assert "repair asked by" not in (await alice.browser.get("/admin")).text
    async with people.services.scope(bob.tenant_id).begin(write=False) as unit:
        audit = await unit.audit.lines()
        said = [a.message for a in await unit.runs.activity(bob.id, limit=10)]
    assert [(a.actor, a.action, a.target) for a in audit] == [
        (ALICE, AuditAction.USER_RESYNCED, BOB)
    ]
    assert any(m.startswith(f"Repair asked by {ALICE}: the next sync") for m in said)


async def test_only_an_administrator_of_the_store_can_resync_a_user_R21c_R22(
    people: WebWorld,
) -> None:
    bob = people.people[BOB]
    alice = await people.user(ALICE)
    erin = people.people[ERIN]  # an administrator of the other store
    assert await post(bob.browser, await bob.csrf(), f"/admin/users/{alice.id}/resync") == 403
    assert await post(erin.browser, await erin.csrf(), f"/admin/users/{alice.id}/resync") == 404
    assert (await people.user(ALICE)).resync_requested_at is None


async def test_repair_my_sync_is_offered_after_an_error_and_carried_out_R14c(
    people: WebWorld,
) -> None:
    bob = people.people[BOB]
    assert "Repair my sync" not in (await bob.browser.get("/dashboard")).text
    people.running.emulator.faults.add(
        Fault("GET", "*calendarView/delta*", FaultKind.ERROR, status=500, count=10)
    )
    try:
        failed = await people.cycle(BOB)
    finally:
        people.running.emulator.faults.clear()
    assert failed.outcome != "ok"
    dashboard = await bob.browser.get("/dashboard")
    assert "Will retry" in dashboard.text
    assert 'action="/dashboard/repair"' in dashboard.text
    assert await post(bob.browser, await bob.csrf(), "/dashboard/repair") == 303
    asked = await bob.browser.get("/dashboard")
    assert "A repair was asked for" in asked.text
    assert "Repair my sync" not in asked.text  # asked once is enough
    done = await people.cycle(BOB)
    assert done.outcome == "ok", done.error
    assert done.entries[-1].message.startswith("Repair asked by you:")
    assert "A repair was asked for" not in (await bob.browser.get("/dashboard")).text
    async with people.services.scope((await people.user(BOB)).tenant_id).begin() as unit:
        assert await unit.audit.lines() == []  # the user's own action: their activity log
