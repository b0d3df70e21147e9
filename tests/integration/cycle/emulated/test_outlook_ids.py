"""Outlook ids through both emulators (issue 24 items 1 and 3): every Graph request a
cycle sends asks for immutable ids — first sync, category, `$batch` items, recovery
lookups, a removal's confirmation, an update beyond the window — proven on the
emulator's side, where each request without `Prefer: IdType="ImmutableId"` is counted;
and a mapping row whose event id Graph cannot read (400 ErrorInvalidIdMalformed) is
repaired by the identity its event carries, never taken as a deletion (R7b, R16b)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from s5sync.core.snapshots import LinkState
from support.cycle_stack import Stack
from support.emulated_world import ALICE, LATER, NOW, create_event, delete_event, links, save_task
from support.store_damage import damage_link, forget_links, forget_window


async def test_every_request_of_every_kind_of_cycle_asks_for_immutable_ids_R16b(
    world: Stack,
) -> None:
    near = world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    far = world.add_task(ALICE, "delivery", "Far", "2026-12-25T10:00:00", "2026-12-25T11:00:00")
    world.add_task(ALICE, "customer", "Doomed", "2026-11-28T10:00:00", "2026-11-28T11:00:00")
    create_event(world, ALICE, "Measure [sync]", NOW + timedelta(days=2))
    first = await world.cycle(ALICE, NOW)  # first read, category, creates in a $batch
    assert first.outcome == "ok", first.error
    doomed = next(e["id"] for e in world.events(ALICE) if e["subject"] == "Doomed")
    delete_event(world, ALICE, doomed)  # R7b: confirmed by a GET of the event
    save_task(world, far, title="Far v2")  # beyond the window: its categories are read
    save_task(world, near, title="Visit v2")  # a PATCH in a $batch
    second = await world.cycle(ALICE, NOW + LATER)
    assert second.outcome == "ok", second.error
    await forget_links(world.services, world.tenant.id, world.users[ALICE].id)
    await forget_window(world.services, world.tenant.id, world.users[ALICE].id)
    rebuilt = await world.cycle(ALICE, NOW + 2 * LATER)  # recovery lookups in a $batch
    assert rebuilt.outcome == "ok", rebuilt.error
    assert rebuilt.phases.get("recovery") == 1, rebuilt.phases
    stats = world.stats()
    routes = set().union(*(set(r) for r in stats["requests"].values()))
    assert {
        "POST /$batch",
        "POST /me/events",
        "PATCH /me/events/{id}",
        "GET /me/events",
        "GET /me/events/{id}",
        "GET /me/calendarView/delta",
        "GET /me/outlook/masterCategories",
        "POST /me/outlook/masterCategories",
    } <= routes, routes
    assert stats["default_id_requests"] == {}


@pytest.mark.parametrize(
    ("damage", "day"),
    [
        ("abc", "2026-12-20"),  # beyond the window: the event is read (GET) before the PATCH
        ("285", "2026-11-28"),  # inside it: the PATCH itself answers 400
        ("truncated", "2026-12-20"),
        ("truncated", "2026-11-28"),
    ],
)
async def test_a_damaged_event_id_in_the_mapping_is_repaired_never_a_deletion_R7b_R16b(
    world: Stack, damage: str, day: str
) -> None:
    task_id = world.add_task(ALICE, "customer", "Visit", f"{day}T10:00:00", f"{day}T11:00:00")
    assert (await world.cycle(ALICE, NOW)).outcome == "ok"
    [pushed] = world.events(ALICE)
    [link] = await links(world, ALICE)
    bad = pushed["id"][:-6] if damage == "truncated" else damage
    damaged = replace(link, event_id=bad)
    await damage_link(world.services, world.tenant.id, world.users[ALICE].id, link, damaged)
    save_task(world, task_id, title="Visit v2")
    repaired = await world.cycle(ALICE, NOW + LATER)
    assert repaired.outcome == "ok", repaired.error
    assert "mark_deleted_in_outlook" not in {e.action for e in repaired.entries}
    assert any("damaged Outlook event id" in e.message for e in repaired.entries), [
        e.message for e in repaired.entries
    ]
    [after] = await links(world, ALICE)
    assert (after.event_id, after.state) == (pushed["id"], LinkState.ACTIVE)
    updated = await world.cycle(ALICE, NOW + 2 * LATER)
    assert updated.outcome == "ok", updated.error
    assert [(e["id"], e["subject"]) for e in world.events(ALICE)] == [(pushed["id"], "Visit v2")]
