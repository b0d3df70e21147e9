"""Pause per user (R14c; issue 21 item 3): while paused no cycle runs — no Graph and no
System Five request for that user over an hour of the emulator's clock, while the others
go on — the state is shown on the dashboard and the health page, and a resumed user goes
on where they stopped. Pausing and resuming by the administrator are audited (R21d)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from s5sync.core.records import UserRecord
from s5sync.scheduling.local import LocalScheduler
from s5sync.store.audit import AuditAction
from support.web_pages import ALICE, BOB, post
from support.web_world import WebWorld


def requests_of(world: WebWorld, email: str) -> int:
    stats = world.running.emulator.stats.as_json()["requests"]
    return sum(sum(routes.values()) for box, routes in stats.items() if email in str(box).lower())


async def test_a_paused_user_has_no_cycle_and_no_request_for_an_hour_R14c(
    people: WebWorld,
) -> None:
    contoso = people.stores["contoso"].tenant.id
    await people.services.directory.update_tenant(contoso, background_sync=True)
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    assert await post(alice.browser, await alice.csrf(), f"/admin/users/{bob.id}/pause") == 303
    engine = people.services.cycle_engine("test-pause")
    start = datetime.now(UTC)
    now = start
    cycles: Counter[str] = Counter()

    async def run_cycle(user: UserRecord) -> object:
        cycles[user.email] += 1
        return await engine.run_user_cycle(user, now)

    scheduler = LocalScheduler(people.services.directory, run_cycle, lambda: now)
    emulator_clock = people.running.emulator.clock
    before = requests_of(people, BOB)
    try:
        for minutes in range(0, 61, 10):
            now = start + timedelta(minutes=minutes, seconds=1)
            emulator_clock.set(now)
            await scheduler.tick()
            for task in list(scheduler.running.values()):
                await task
        assert cycles[BOB] == 0
        assert requests_of(people, BOB) == before
        assert cycles[ALICE] >= 6  # the others go on

        page = await alice.browser.get("/admin")
        assert "Paused (until resumed)" in page.text
        assert f"by {ALICE}" in page.text
        dashboard = await people.people[BOB].browser.get("/dashboard")
        assert f"Paused by {ALICE}" in dashboard.text

        assert await post(alice.browser, await alice.csrf(), f"/admin/users/{bob.id}/resume") == 303
        now += timedelta(seconds=1)
        emulator_clock.set(now)
        await scheduler.tick()
        for task in list(scheduler.running.values()):
            await task
        assert cycles[BOB] == 1  # resumed: due at once
        assert (await people.user(BOB)).last_outcome == "ok"
    finally:
        emulator_clock.clear()
    async with people.services.scope(contoso).begin(write=False) as unit:
        lines = await unit.audit.lines()
    assert [(a.actor, a.action, a.target) for a in reversed(lines)] == [
        (ALICE, AuditAction.USER_PAUSED, BOB),
        (ALICE, AuditAction.USER_RESUMED, BOB),
    ]


async def test_the_user_pauses_and_resumes_their_own_sync_R14c(people: WebWorld) -> None:
    bob = people.people[BOB]
    assert await post(bob.browser, await bob.csrf(), "/dashboard/pause") == 303
    page = await bob.browser.get("/dashboard")
    assert "nothing is synced until you resume" in page.text
    assert "Resume my sync" in page.text
    due = await people.services.directory.due_users(datetime.now(UTC) + timedelta(hours=1))
    assert BOB not in {u.email for u in due}
    assert await post(bob.browser, await bob.csrf(), "/dashboard/resume") == 303
    page = await bob.browser.get("/dashboard")
    assert "Pause my sync" in page.text
    assert not (await people.user(BOB)).paused


async def test_staff_cannot_pause_another_user_R14c_R21c(people: WebWorld) -> None:
    bob = people.people[BOB]
    alice = await people.user(ALICE)
    assert await post(bob.browser, await bob.csrf(), f"/admin/users/{alice.id}/pause") == 403
    assert not (await people.user(ALICE)).paused
