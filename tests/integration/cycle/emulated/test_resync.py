"""Resync (repair) per user through both emulators (issue 21 item 2; R14c, R16, R16b, R6,
R6b, R7b).

After each kind of damage — lost mapping rows, a stale delta link, an event edited so it
no longer matches, a task edited behind a stale hash — a normal cycle leaves the damage
(shown first), and one resync makes the user's calendar equal a clean first sync of the
same tasks (Bob's mailbox, mapped to Alice's employee, synced once from nothing), with
0 duplicates and 0 deletions. A remap that was undone leaves the user's own events
stopped and marked "Removed from System Five": the resync makes them live again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from typer.testing import CliRunner, Result

from s5emu.desk import AddressForm
from s5sync.core.hashing import task_hash
from s5sync.core.html_text import html_to_text
from s5sync.core.records import DeltaRecord
from s5sync.core.snapshots import LinkState
from s5sync.entrypoints.cli import app
from s5sync.store.audit import AuditAction
from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    BOB,
    LATER,
    NOW,
    all_tasks,
    create_event,
    edit_event,
    env_file,
    links,
    save_task,
    utc,
)
from support.store_damage import (
    damage_link,
    forget_link,
    forget_links,
    replace_delta_link,
    saved_delta,
)

OURS = "Received From System5"


async def s5sync(env: Path, *args: str) -> Result:
    """The CLI in a worker thread (it runs its own event loop, as from a terminal)."""
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(app, ["--env-file", str(env), *args])
    )


REMOVED = "Removed from System Five"


def picture(world: Stack, email: str) -> list[tuple[Any, ...]]:
    """The pushed events as a reader sees them, without ids (one per task)."""
    seen = []
    for e in world.events(email):
        if OURS not in e["categories"]:
            continue
        reminder = e["reminderMinutesBeforeStart"] if e.get("isReminderOn") else None
        seen.append(
            (
                e["subject"],
                e["start"]["dateTime"][:19],
                e["end"]["dateTime"][:19],
                reminder,
                tuple(sorted(e["categories"])),
                html_to_text(e["body"]["content"]),
                (e.get("location") or {}).get("displayName", ""),
            )
        )
    return sorted(seen)


async def clean_first_sync(world: Stack, now: datetime) -> list[tuple[Any, ...]]:
    """The same System Five tasks synced once from nothing, into Bob's empty mailbox."""
    await world.sign_in(BOB, "Bob Nguyen", employee_id=world.employees[ALICE])
    first = await world.cycle(BOB, now)
    assert first.outcome == "ok", first.error
    return picture(world, BOB)


async def pushed(world: Stack) -> list[int]:
    """Three tasks of Alice's: one with a customer's address, in the window and beyond."""
    customer = world.desk.add_customer(
        "Zoë Brontë", [AddressForm("ship_to", "12 Rue Ærø", city="Montréal")]
    )
    ids = [
        world.add_task(
            ALICE,
            "delivery",
            "Deliver sofa",
            "2026-11-26T10:00:00",
            "2026-11-26T11:00:00",
            customer_id=customer,
            alarm_minutes=30,
            notes="Ring twice",
        ),
        world.add_task(ALICE, "customer", "Measure", "2026-11-27T10:00:00", "2026-11-27T11:00:00"),
        world.add_task(ALICE, "delivery", "Far", "2026-12-25T10:00:00", "2026-12-25T11:00:00"),
    ]
    first = await world.cycle(ALICE, NOW)
    assert [e.action for e in first.entries] == ["create_event"] * 3, first.entries
    return ids


async def resync(world: Stack, now: datetime, by: str = "admin@contoso.example") -> CycleResult:
    async with world.services.scope(world.tenant.id).begin() as unit:
        await unit.users.request_resync(world.users[ALICE].id, now, by)
    done = await world.cycle(ALICE, now)
    assert done.outcome == "ok", done.error
    assert "delete" not in " ".join(e.action for e in done.entries)
    assert done.entries[-1].action == "resync"
    return done


def event_ids(world: Stack) -> set[str]:
    return {e["id"] for e in world.events(ALICE)}


async def check_repaired(world: Stack, before: set[str], tasks: int, now: datetime) -> None:
    """Equal to a clean first sync; nothing deleted on either side; nothing twice."""
    assert event_ids(world) == before  # 0 deletions, 0 new events (0 duplicates)
    assert len(all_tasks(world)) == tasks
    assert picture(world, ALICE) == await clean_first_sync(world, now)
    state = await links(world, ALICE)
    assert {link.state for link in state} == {LinkState.ACTIVE}
    assert len({link.event_id for link in state}) == len(state) == len(before)
    idle = await world.cycle(ALICE, now + LATER)
    assert idle.wrote == 0, idle.entries
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        assert (await unit.users.get(world.users[ALICE].id)).resync_requested_at is None


async def test_a_resync_of_a_clean_sync_writes_nothing_and_says_so_R14c(world: Stack) -> None:
    await pushed(world)
    before = event_ids(world)
    done = await resync(world, NOW + LATER)
    assert done.wrote == 0, done.entries
    assert "nothing needed repairing" in done.entries[-1].message
    assert "admin@contoso.example" in done.entries[-1].message
    assert done.phases.get("first_read") == 1  # the window read again from scratch
    await check_repaired(world, before, 3, NOW + 2 * LATER)


async def test_resync_after_lost_mapping_rows_equals_a_clean_first_sync_R16b(world: Stack) -> None:
    await pushed(world)
    before = event_ids(world)
    assert await forget_links(world.services, world.tenant.id, world.users[ALICE].id) == 3
    done = await resync(world, NOW + LATER)
    assert [e.action for e in done.entries].count("adopt_event") == 3
    assert "create_event" not in {e.action for e in done.entries}
    assert "3 things were repaired" in done.entries[-1].message
    await check_repaired(world, before, 3, NOW + 2 * LATER)


def fresh_delta_link(world: Stack, record: DeltaRecord) -> str:
    """Graph's delta link for the window *now*: a link that has skipped what happened."""
    with world.graph(ALICE) as graph:
        url: str | None = "/me/calendarView/delta"
        params: dict[str, str] | None = {
            "startDateTime": utc(record.window_start)["dateTime"] + "Z",
            "endDateTime": utc(record.window_end)["dateTime"] + "Z",
        }
        while url is not None:
            page = graph.get(url, params=params)
            page.raise_for_status()
            body = page.json()
            params = None
            if "@odata.deltaLink" in body:
                return str(body["@odata.deltaLink"])
            url = str(httpx.URL(body["@odata.nextLink"]))
    raise AssertionError("no delta link")


async def test_resync_after_a_stale_delta_link_imports_what_it_skipped_R8_R14c(
    world: Stack,
) -> None:
    await pushed(world)
    before = event_ids(world)
    tagged = create_event(world, ALICE, "Measure kitchen [sync]", NOW + timedelta(days=2))
    user_id = world.users[ALICE].id
    record = await saved_delta(world.services, world.tenant.id, user_id)
    assert record is not None
    stale = fresh_delta_link(world, record)
    await replace_delta_link(world.services, world.tenant.id, user_id, stale)
    missed = await world.cycle(ALICE, NOW + LATER)
    assert missed.wrote == 0  # the damage: the tagged event is never seen
    done = await resync(world, NOW + 2 * LATER)
    assert [e.action for e in done.entries if e.action != "resync"] == ["create_task"]
    imported = [t for t in all_tasks(world) if t.external_ref == tagged]
    assert len(imported) == 1
    assert imported[0].needs_review
    await check_repaired(world, before | {tagged}, 4, NOW + 3 * LATER)


async def test_resync_after_an_event_edited_in_outlook_puts_the_task_back_R5_R14c(
    world: Stack,
) -> None:
    await pushed(world)
    before = event_ids(world)
    [sofa] = [e for e in world.events(ALICE) if e["subject"] == "Deliver sofa"]
    moved = datetime(2026, 11, 26, 20, 0, tzinfo=NOW.tzinfo)
    edit_event(
        world, ALICE, sofa["id"], subject="Sofa (who knows)",
        start=utc(moved), end=utc(moved + timedelta(hours=1)),
    )  # fmt: skip
    ignored = await world.cycle(ALICE, NOW + LATER)
    assert ignored.wrote == 0  # R7: Outlook edits are not sent back, nor overwritten
    done = await resync(world, NOW + 2 * LATER)
    [fixed] = [e for e in done.entries if e.action == "update_event"]
    assert fixed.reason == "resync_repaired"
    assert "title 'Sofa (who knows)'" in fixed.message  # R5b: what it replaced is said
    await check_repaired(world, before, 3, NOW + 3 * LATER)


async def test_resync_after_a_task_edited_behind_a_stale_hash_pushes_it_R5_R14c(
    world: Stack,
) -> None:
    ids = await pushed(world)
    before = event_ids(world)
    for task_id, title in ((ids[1], "Measure the hall"), (ids[2], "Far, and later")):
        save_task(world, task_id, title=title)
    tasks = await world.services.task_store_for(world.tenant.id)
    now_as = await tasks.tasks_by_id(ids[1:])
    user_id = world.users[ALICE].id
    for link in await links(world, ALICE):
        if link.task_id in now_as:  # the hash says "sent", the event says otherwise
            stale = replace(link, task_hash=task_hash(now_as[link.task_id]))
            await damage_link(world.services, world.tenant.id, user_id, link, stale)
    missed = await world.cycle(ALICE, NOW + LATER)
    assert missed.wrote == 0  # the damage: the changes never reach Outlook
    done = await resync(world, NOW + 2 * LATER)
    repaired = sorted(e.subject for e in done.entries if e.reason == "resync_repaired")
    assert repaired == ["Far, and later", "Measure the hall"]  # beyond the window too
    await check_repaired(world, before, 3, NOW + 3 * LATER)


async def test_resync_after_an_undone_remap_makes_the_users_own_events_live_again_R6b(
    world: Stack,
) -> None:
    ids = await pushed(world)
    own = world.employees[ALICE]
    dave = world.desk.add_employee("E004", "Dave Okafor", "dave@contoso.example")
    world.employees["dave"] = dave
    daves = world.add_task("dave", "delivery", "Dave's drop", "2026-11-28T10:00:00",
                           "2026-11-28T11:00:00")  # fmt: skip
    user_id = world.users[ALICE].id
    for employee, at in ((dave, NOW + LATER), (own, NOW + 2 * LATER)):
        async with world.services.scope(world.tenant.id).begin() as unit:
            await unit.users.onboard(user_id, employee, at)
        assert (await world.cycle(ALICE, at)).outcome == "ok"
    # Undone, but Alice's own events stay stopped and marked (R6b), like Dave's.
    assert all(REMOVED in e["categories"] for e in world.events(ALICE))
    save_task(world, ids[0], title="Deliver sofa (moved)")
    stopped = await world.cycle(ALICE, NOW + 3 * LATER)
    assert stopped.wrote == 0
    before = event_ids(world)
    done = await resync(world, NOW + 4 * LATER)
    restored = sorted(e.subject for e in done.entries if e.reason == "resync_restored")
    assert restored == ["Deliver sofa (moved)", "Far", "Measure"]
    assert event_ids(world) == before  # nothing deleted, nothing twice
    by_subject = {e["subject"]: e for e in world.events(ALICE)}
    assert set(by_subject) == {"Deliver sofa (moved)", "Measure", "Far", "Dave's drop"}
    assert REMOVED in by_subject["Dave's drop"]["categories"]  # Dave's stays marked
    for subject in ("Deliver sofa (moved)", "Measure", "Far"):
        assert by_subject[subject]["categories"] == [OURS]
    states = {link.task_id: link.state for link in await links(world, ALICE)}
    assert states[daves] is LinkState.TASK_DELETED
    assert {states[i] for i in ids} == {LinkState.ACTIVE}
    # Live again: the next change of Alice's own task reaches her calendar.
    save_task(world, ids[1], title="Measure again")
    live = await world.cycle(ALICE, NOW + 5 * LATER)
    assert [(e.action, e.subject) for e in live.entries] == [("update_event", "Measure again")]


async def test_s5sync_user_resync_repairs_now_and_is_audited_R14c_R21d(
    world: Stack, tmp_path: Path
) -> None:
    await pushed(world)
    await forget_links(world.services, world.tenant.id, world.users[ALICE].id)
    env = env_file(world, tmp_path / "s5sync.env")
    said = await s5sync(env, "user", "resync", ALICE, "--now", (NOW + LATER).isoformat())
    assert said.exit_code == 0, said.output
    assert "adopt_event" in said.output
    assert "Repair asked by" in said.output
    assert len(world.events(ALICE)) == 3
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        audit = await unit.audit.lines()
        user = await unit.users.get(world.users[ALICE].id)
    assert [(a.action, a.target) for a in audit] == [(AuditAction.USER_RESYNCED, ALICE)]
    assert user.resync_requested_at is None


async def test_resync_on_postgresql_after_lost_rows_and_a_stale_hash_R14c_R16b(
    pg_world: Stack,
) -> None:
    """The same repair with the CALENDAREVENT database on PostgreSQL (its cycle runs as
    SQL functions there: the request is read at start and cleared at finish)."""
    world = pg_world
    ids = await pushed(world)
    before = event_ids(world)
    save_task(world, ids[1], title="Measure the hall")
    tasks = await world.services.task_store_for(world.tenant.id)
    now_as = await tasks.tasks_by_id([ids[1]])
    user_id = world.users[ALICE].id
    for link in await links(world, ALICE):
        if link.task_id == ids[1]:
            stale = replace(link, task_hash=task_hash(now_as[ids[1]]))
            await damage_link(world.services, world.tenant.id, user_id, link, stale)
        else:
            await forget_link(world.services, world.tenant.id, user_id, link)
    done = await resync(world, NOW + LATER)
    actions = [e.action for e in done.entries]
    assert actions.count("adopt_event") == 2
    assert "create_event" not in actions
    [fixed] = [e for e in done.entries if e.reason == "resync_repaired"]
    assert fixed.subject == "Measure the hall"
    await check_repaired(world, before, 3, NOW + 2 * LATER)
