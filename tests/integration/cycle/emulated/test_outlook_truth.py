"""Outlook events that tell the truth (issue 20, items 6–9), through the real connectors
and both emulators: a task deleted in System Five marks its event "Removed from System
Five" once and never takes it off (R6b); a new category colour reaches mailboxes that
have the category on the next cycle for one request (R21b); the address goes into the
event's location on the first send only (R4b); text the user types outside s5sync's
block of the body survives every update and a tag added (R5b, R12)."""

from __future__ import annotations

from typing import Any

import httpx

from s5emu.desk import AddressForm
from s5sync.core.snapshots import LinkState
from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack
from support.emulated_world import ALICE, Ticker, edit_event, event, links, save_task

REMOVED = "Removed from System Five"


async def ok(world: Stack, clock: Ticker) -> CycleResult:
    result = await world.cycle(ALICE, clock.next())
    assert result.outcome == "ok", result.error
    return result


def master_categories(world: Stack) -> dict[str, str]:
    """The user's master category list as Outlook shows it: name → colour."""
    token = world.control(
        "POST", "/token", {"email": ALICE, "scopes": ["MailboxSettings.ReadWrite"]}
    )
    with httpx.Client(
        base_url=world.running.urls.graph,
        verify=world.running.ssl_context(),
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ) as graph:
        answer = graph.get("/me/outlook/masterCategories")
        answer.raise_for_status()
        return {c["displayName"]: c["color"] for c in answer.json()["value"]}


async def set_options(world: Stack, **changes: Any) -> None:
    async with world.services.scope(world.tenant.id).begin() as unit:
        await unit.tenant.set_options(**changes)


async def pushed_delivery(world: Stack, clock: Ticker, **kw: Any) -> tuple[int, dict[str, Any]]:
    task_id = world.add_task(
        ALICE, "delivery", "Deliver sofa", "2026-11-26T10:00:00", "2026-11-26T11:00:00", **kw
    )
    await world.cycle(ALICE, clock.now)
    [pushed] = world.events(ALICE)
    return task_id, pushed


async def test_deleted_task_marks_its_event_removed_once_and_never_takes_it_off_R6b(
    world: Stack,
) -> None:
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock)
    edit_event(world, ALICE, pushed["id"], categories=["Received From System5", "Blue team"])
    await ok(world, clock)
    before = event(world, ALICE, pushed["id"])

    world.desk.delete_task(task_id)
    deleted = await ok(world, clock)
    assert [e.action for e in deleted.entries] == ["mark_task_deleted"]
    assert REMOVED in deleted.entries[0].message
    after = event(world, ALICE, pushed["id"])
    # R6b: a second category, nothing else changed, never moved or removed.
    assert after["categories"] == ["Received From System5", "Blue team", REMOVED]
    for field in ("subject", "start", "end", "body", "reminderMinutesBeforeStart", "location"):
        assert after[field] == before[field], field
    assert master_categories(world)[REMOVED] == "preset0"
    assert [link.state for link in await links(world, ALICE)] == [LinkState.TASK_DELETED]

    # Added once: the next cycles write nothing (one request each) ...
    for _ in range(2):
        idle = await ok(world, clock)
        assert idle.entries == ()
        assert idle.phases == {"delta": 1}
    # ... and never taken off, not even after the user removes it in Outlook.
    edit_event(world, ALICE, pushed["id"], categories=["Blue team"])
    await ok(world, clock)
    await ok(world, clock)
    assert event(world, ALICE, pushed["id"])["categories"] == ["Blue team"]
    assert len(world.events(ALICE)) == 1


async def test_unticked_task_changes_nothing_on_its_event_and_says_so_R6_R6b(
    world: Stack,
) -> None:
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock)
    await ok(world, clock)
    save_task(world, task_id, sync=False)
    unticked = await ok(world, clock)
    [line] = unticked.entries
    assert "no longer updated" in line.message
    save_task(world, task_id, title="Deliver sofa, changed after untick")
    await ok(world, clock)
    # R6: nothing on the event changed, not even its categories (no Removed mark).
    assert event(world, ALICE, pushed["id"])["changeKey"] == pushed["changeKey"]
    assert event(world, ALICE, pushed["id"])["categories"] == ["Received From System5"]


async def test_removed_category_is_a_store_option_R6b(world: Stack) -> None:
    await set_options(world, removed_category=False)
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock)
    await ok(world, clock)
    world.desk.delete_task(task_id)
    await ok(world, clock)
    assert event(world, ALICE, pushed["id"])["categories"] == ["Received From System5"]
    assert REMOVED not in master_categories(world)


async def test_new_category_colour_reaches_the_mailbox_next_cycle_for_one_request_R21b(
    world: Stack,
) -> None:
    clock = Ticker()
    await pushed_delivery(world, clock)
    assert master_categories(world)["Received From System5"] == "preset4"
    await ok(world, clock)

    await set_options(world, category_color="preset7")
    recoloured = await ok(world, clock)
    assert master_categories(world)["Received From System5"] == "preset7"
    assert recoloured.phases == {"delta": 1, "category": 1}
    assert recoloured.requests.get("PATCH masterCategories") == 1, recoloured.requests
    idle = await ok(world, clock)
    assert idle.phases == {"delta": 1}


async def test_location_is_the_customer_address_on_the_first_send_only_R4b(
    world: Stack,
) -> None:
    customer = world.desk.add_customer(
        "Zoë Brontë", [AddressForm("ship_to", "12 Rue Ærø", city="Montréal", country="Canada")]
    )
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock, customer_id=customer)
    # R4b: the address the maps link searches, so Outlook and phones can map it.
    assert pushed["location"]["displayName"] == "12 Rue Ærø, Montréal, Canada"
    assert "query=12+Rue+%C3%86r%C3%B8%2C+Montr%C3%A9al%2C+Canada" in pushed["body"]["content"]

    # After that the location is the user's (R5): task changes never write it.
    save_task(world, task_id, title="Deliver sofa and chairs")
    await ok(world, clock)
    assert event(world, ALICE, pushed["id"])["location"]["displayName"] == (
        "12 Rue Ærø, Montréal, Canada"
    )
    edit_event(world, ALICE, pushed["id"], location={"displayName": "Back door, loading bay"})
    await ok(world, clock)
    save_task(world, task_id, title="Deliver sofa, chairs and table")
    await ok(world, clock)
    after = event(world, ALICE, pushed["id"])
    assert after["subject"] == "Deliver sofa, chairs and table"
    assert after["location"]["displayName"] == "Back door, loading bay"


async def test_task_without_an_address_sends_no_location_R4b(world: Stack) -> None:
    clock = Ticker()
    _, pushed = await pushed_delivery(world, clock)
    assert pushed["location"].get("displayName", "") == ""


def body_text(world: Stack, event_id: str) -> str:
    with world.graph(ALICE) as graph:
        answer = graph.get(
            f"/me/events/{event_id}", headers={"Prefer": 'outlook.body-content-type="text"'}
        )
        answer.raise_for_status()
        return str(answer.json()["body"]["content"]).replace("\r\n", "\n")


async def test_text_typed_outside_the_block_survives_ten_updates_and_a_tag_R5b_R12(
    world: Stack,
) -> None:
    address = AddressForm("ship_to", "9 Dock Rd", city="Springfield")
    customer = world.desk.add_customer("Smith", [address])
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock, customer_id=customer, notes="Ring twice")
    text = body_text(world, pushed["id"])
    edit_event(
        world,
        ALICE,
        pushed["id"],
        body={"contentType": "text", "content": f"Call first\n\n{text}\n\nGate code 4411"},
    )
    await ok(world, clock)
    for n in range(10):
        save_task(world, task_id, notes=f"Ring twice ({n})", title=f"Deliver sofa {n}")
        updated = await ok(world, clock)
        assert [e.action for e in updated.entries] == ["update_event"], updated.entries
        text = body_text(world, pushed["id"])
        assert text.startswith("Call first\n"), text
        assert text.endswith("\nGate code 4411"), text
        assert f"Ring twice ({n})" in text
        assert text.count("Gate code 4411") == 1
        assert text.count("maps/search") == 1

    # R12: the tag added; the task takes the body's text (the user's included), once.
    edit_event(world, ALICE, pushed["id"], subject="Deliver sofa 9 [sync]")
    await ok(world, clock)
    notes = world.desk.task(task_id).notes  # type: ignore[union-attr]
    assert notes == "Call first\n\nRing twice (9)\n\nGate code 4411"
    # A later change of the task shows the user's text once, never twice.
    save_task(world, task_id, title="Deliver sofa at noon")
    await ok(world, clock)
    text = body_text(world, pushed["id"])
    assert text.count("Gate code 4411") == 1
    assert text.count("Call first") == 1
    assert text.count("maps/search") == 1
    assert event(world, ALICE, pushed["id"])["subject"] == "Deliver sofa at noon [sync]"


async def test_overwriting_what_the_user_typed_in_an_owned_field_is_said_R5b(
    world: Stack,
) -> None:
    clock = Ticker()
    task_id, pushed = await pushed_delivery(world, clock, alarm_minutes=15)
    await ok(world, clock)
    edit_event(world, ALICE, pushed["id"], subject="Sofa (customer asked 9am)")
    await ok(world, clock)
    save_task(world, task_id, notes="Bring the invoice")
    result = await ok(world, clock)
    update = next(e for e in result.entries if e.action == "update_event")
    assert "edited in Outlook" in update.message
    assert "title 'Sofa (customer asked 9am)'" in update.message
    assert "time" not in update.message.split("replaced", 1)[1]
    assert event(world, ALICE, pushed["id"])["subject"] == "Deliver sofa"
