"""Bad and hostile System Five tasks, pushed through the real connectors (R4, R23).

Tasks come from the desk or, for values the desk refuses, from SQL written as another
tool might. Each is sent adapted, or skipped, with the reason in the activity log, and a
good task and a good tagged event of the same cycle still sync (R23).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote_plus

import pytest

from s5emu.desk import AddressForm
from support.badinput_world import World, messages


def body_of(world: World, subject: str) -> str:
    return str(world.outlook()[subject]["body"]["content"])


async def test_empty_title_is_sent_as_no_title_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title="")
    result = await world.cycle()
    assert "Sent '(no title)' to Outlook" in messages(result)
    assert "(no title)" in world.outlook()
    world.assert_good_items_synced(result)


async def test_whitespace_title_is_sent_as_no_title_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title=" \t  ")
    result = await world.cycle()
    assert "Sent '(no title)' to Outlook" in messages(result)
    assert "(no title)" in world.outlook()
    world.assert_good_items_synced(result)


async def test_nul_and_control_characters_never_reach_outlook_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title="Hang\x00 the\x1b door", notes="first\x00 line\x07\nsecond line")
    result = await world.cycle()
    assert "Sent 'Hang the door' to Outlook" in messages(result)
    assert "with Sync ticked; control characters removed" in messages(result)
    assert "Hang the door" in world.outlook()
    body = body_of(world, "Hang the door")
    assert "\x00" not in body
    assert "\x07" not in body
    assert "first line" in body
    assert "second line" in body
    world.assert_good_items_synced(result)


async def test_emoji_and_right_to_left_title_is_sent_verbatim_R23(world: World) -> None:
    world.with_good_items()
    world.task("🚚 توصيل الأريكة 🛋️")
    result = await world.cycle()
    assert "Sent '🚚 توصيل الأريكة 🛋️' to Outlook" in messages(result)
    assert "🚚 توصيل الأريكة 🛋️" in world.outlook()
    world.assert_good_items_synced(result)


async def test_hostile_html_in_notes_is_escaped_in_the_event_body_R23(world: World) -> None:
    world.with_good_items()
    world.task("Hostile notes", notes="<script>alert(1)</script><img src=x onerror=alert(2)>")
    result = await world.cycle()
    assert "Sent 'Hostile notes' to Outlook" in messages(result)
    body = body_of(world, "Hostile notes")
    assert "<script" not in body
    assert "<img" not in body
    assert "&lt;script&gt;" in body
    world.assert_good_items_synced(result)


async def test_html_in_the_title_is_sent_as_plain_subject_text_R23(world: World) -> None:
    world.with_good_items()
    world.task("<b>Bold</b> & <i>co</i>")
    result = await world.cycle()
    assert "Sent '<b>Bold</b> & <i>co</i>' to Outlook" in messages(result)
    assert "<b>Bold</b> & <i>co</i>" in world.outlook()
    world.assert_good_items_synced(result)


async def test_task_ending_before_it_starts_is_skipped_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(
        title="Backwards task", starts_at="2026-11-27T12:00:00", ends_at="2026-11-27T11:00:00"
    )
    result = await world.cycle()
    assert "Skipped 'Backwards task': its times cannot be used" in messages(result)
    assert "Backwards task" not in world.outlook()
    world.assert_good_items_synced(result)


async def test_zero_length_task_is_sent_R23(world: World) -> None:
    world.with_good_items()
    world.task("Instant", "2026-11-27T14:00:00", "2026-11-27T14:00:00")
    result = await world.cycle()
    assert "Sent 'Instant' to Outlook" in messages(result)
    event = world.outlook()["Instant"]
    assert event["start"]["dateTime"][:19] == event["end"]["dateTime"][:19]
    world.assert_good_items_synced(result)


async def test_sixty_day_task_is_sent_whole_R23(world: World) -> None:
    world.with_good_items()
    world.task("Long loan", "2026-11-27T09:00:00", "2027-01-26T09:00:00")
    result = await world.cycle()
    assert "Sent 'Long loan' to Outlook" in messages(result)
    assert world.outlook()["Long loan"]["end"]["dateTime"].startswith("2027-01-26T14:00:00")
    world.assert_good_items_synced(result)


async def test_wall_time_in_the_spring_forward_gap_moves_forward_and_says_so_R23(
    world: World,
) -> None:
    now = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
    world.with_good_items("2027-03-12T10:00:00", "2027-03-12T11:00:00")
    world.task("In the gap", "2027-03-14T02:30:00", "2027-03-14T04:00:00")
    result = await world.cycle(now)
    text = messages(result)
    assert "Sent 'In the gap' to Outlook" in text
    assert "does not exist in America/New_York" in text, text
    # 02:30 does not exist: taken as 03:30 EDT = 07:30 UTC.
    assert world.outlook()["In the gap"]["start"]["dateTime"].startswith("2027-03-14T07:30:00")
    world.assert_good_items_synced(result)


async def test_wall_time_in_the_fall_back_fold_is_the_first_and_says_so_R23(world: World) -> None:
    now = datetime(2027, 11, 3, 15, 0, tzinfo=UTC)
    world.with_good_items("2027-11-05T10:00:00", "2027-11-05T11:00:00")
    world.task("In the fold", "2027-11-07T01:30:00", "2027-11-07T03:00:00")
    result = await world.cycle(now)
    text = messages(result)
    assert "Sent 'In the fold' to Outlook" in text
    assert "happens twice in America/New_York" in text, text
    assert world.outlook()["In the fold"]["start"]["dateTime"].startswith("2027-11-07T05:30:00")
    world.assert_good_items_synced(result)


async def test_negative_alarm_from_another_tool_is_sent_without_a_reminder_R23(
    world: World,
) -> None:
    world.with_good_items()
    world.raw_task(title="Negative alarm task", alarm_minutes=-15)
    result = await world.cycle()
    assert (
        "Sent 'Negative alarm task' to Outlook as a new event: a Customer or Delivery task "
        "with Sync ticked; alarm of -15 minutes is not possible: no reminder"
    ) in messages(result), messages(result)
    assert world.outlook()["Negative alarm task"]["isReminderOn"] is False
    world.assert_good_items_synced(result)


# -- customers and addresses (R4) ------------------------------------------------------


def maps_query(body: str) -> str | None:
    marker = "https://www.google.com/maps/search/?api=1&amp;query="
    at = body.find(marker)
    if at < 0:
        return None
    end = min(i for i in (body.find('"', at), body.find("<", at), len(body)) if i >= 0)
    return unquote_plus(body[at + len(marker) : end])


@pytest.mark.parametrize(
    ("name", "kind", "addresses", "query"),
    [
        ("customer_task_without_a_customer_has_no_directions_R4_R23", "customer", None, None),
        ("delivery_to_a_customer_without_addresses_has_no_directions_R4_R23", "delivery", [], None),
        (
            "address_with_only_a_city_gives_directions_to_the_city_R4_R23",
            "delivery",
            [AddressForm("ship_to", "", "Springfield")],
            "Springfield",
        ),
        (
            "address_with_only_postal_code_and_country_R4_R23",
            "delivery",
            [AddressForm("bill_to", "", "", postal_code="10115", country="Germany")],
            "10115, Germany",
        ),
        (
            "address_of_empty_and_blank_fields_has_no_directions_R4_R23",
            "delivery",
            [AddressForm("ship_to", "  ", " ", postal_code="\t")],
            None,
        ),
        (
            "customer_task_with_only_a_ship_to_address_has_no_directions_R4_R23",
            "customer",
            [AddressForm("ship_to", "1 Dock Rd", "Portsmouth")],
            None,
        ),
        (
            "address_with_line_breaks_and_url_characters_stays_one_encoded_line_R4_R23",
            "delivery",
            [AddressForm("ship_to", "12 A&B St #4\nBack door", "New York", region="NY?")],
            "12 A&B St #4 Back door, New York, NY?",
        ),
        (
            "address_with_html_is_escaped_in_the_link_R4_R23",
            "delivery",
            [AddressForm("ship_to", '"><script>alert(1)</script>', "Boston")],
            '"><script>alert(1)</script>, Boston',
        ),
    ],
)
async def test_partial_or_hostile_address_gives_a_safe_link_or_none_R4_R23(
    world: World, name: str, kind: str, addresses: list[AddressForm] | None, query: str | None
) -> None:
    customer = None if addresses is None else world.customer(*addresses)
    world.with_good_items()
    title = f"Address case {name[:40]}"
    world.task(title, kind=kind, customer_id=customer)
    result = await world.cycle()
    assert f"Sent '{title}' to Outlook" in messages(result)
    body = body_of(world, title)
    assert maps_query(body) == query, body
    assert "<script>" not in body
    world.assert_good_items_synced(result)


# -- duplicate external_ref (R16, R16b) ------------------------------------------------


async def test_task_already_holding_the_event_id_is_reused_never_duplicated_R16b_R23(
    world: World,
) -> None:
    world.with_good_items()
    event_id = world.event("Measure hall [sync]")
    # Another tool (or a restored database) left a task naming the event already.
    existing = world.raw_task(
        title="Measure hall", kind="outlook", sync=0, needs_review=1, external_ref=event_id
    )
    result = await world.cycle()
    assert "Reconnected event 'Measure hall' to its existing System Five task" in messages(result)
    imported = [t for t in world.imported().values() if t.external_ref == event_id]
    assert [t.id for t in imported] == [existing]
    world.assert_good_items_synced(result)


async def test_second_task_with_the_same_external_ref_is_refused_by_system_five_R16(
    world: World,
) -> None:
    from sqlalchemy.exc import IntegrityError

    world.raw_task(title="First", kind="outlook", sync=0, external_ref="AAMk-same")
    with pytest.raises(IntegrityError):
        world.raw_task(title="Second", kind="outlook", sync=0, external_ref="AAMk-same")


async def test_another_employees_task_naming_the_event_is_never_taken_over_R16b_R22(
    world: World,
) -> None:
    world.with_good_items()
    event_id = world.event("Quote for Bob's customer [sync]")
    bob = world.stack.desk.add_employee("BOB", "Bob", "bob@contoso.example")
    theirs = world.raw_task(
        employee_id=bob, title="Bob's own task", kind="outlook", sync=0, external_ref=event_id
    )
    result = await world.cycle()
    world.assert_good_items_synced(result)
    row = world.row(theirs)
    assert (row.employee_id, row.title) == (bob, "Bob's own task")
    text = messages(result)
    assert (
        "Skipped 'Quote for Bob's customer [sync]': the task belongs to another employee "
        "(a task of another employee already names this event)"
    ) in text, text
    assert "Quote for Bob's customer" not in world.imported()


async def test_event_with_a_forged_identity_of_another_employees_task_is_refused_R16b_R22(
    world: World,
) -> None:
    """Delta items carry no extended property, but s5sync's own `transactionId` names the
    task too (R16b): a user who forges one naming a colleague's task id gets nothing."""
    from s5sync.sync.apply import transaction_id_for

    world.with_good_items()
    bob = world.stack.desk.add_employee("BOB", "Bob", "bob@contoso.example")
    theirs = world.raw_task(employee_id=bob, title="Bob's delivery")
    alice = world.stack.users["alice@contoso.example"]
    world.event("Forged [sync]", transactionId=transaction_id_for(alice, theirs))
    result = await world.cycle()
    assert (
        "Skipped 'Forged [sync]': the task belongs to another employee "
        "(the event names a task of another employee)"
    ) in messages(result), messages(result)
    row = world.row(theirs)
    assert (row.title, row.needs_review) == ("Bob's delivery", False)
    assert "Forged" not in world.imported()
    world.assert_good_items_synced(result)


# -- rows System Five's format cannot hold (R23) ---------------------------------------


async def test_task_with_an_unreadable_start_is_skipped_with_the_reason_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title="Garbled start", starts_at="tomorrow morning")
    result = await world.cycle()
    assert (
        "Skipped 'Garbled start': its times cannot be used "
        "(start 'tomorrow morning' is not a date and time)"
    ) in messages(result), messages(result)
    assert "Garbled start" not in world.outlook()
    world.assert_good_items_synced(result)


async def test_linked_task_that_becomes_unreadable_is_not_taken_as_deleted_R23_R6(
    world: World,
) -> None:
    task_id = world.task("Will be garbled")
    first = await world.cycle()
    assert "Sent 'Will be garbled' to Outlook" in messages(first)
    world.with_good_items()
    world.set_columns(task_id, ends_at="31/11/2026 25:00", updated_at="2026-11-25T15:01:00Z")
    broken = await world.cycle(datetime(2026, 11, 25, 15, 10, tzinfo=UTC))
    text = messages(broken)
    assert "Skipped 'Will be garbled': its times cannot be used (end '31/11/2026 25:00'" in text
    assert "deleted in System Five" not in text, text
    world.assert_good_items_synced(broken)
    # Repaired in System Five: the change reaches the same event (the link was kept).
    world.set_columns(
        task_id, title="Repaired", ends_at="2026-11-27T12:00:00", updated_at="2026-11-25T15:11:00Z"
    )
    repaired = await world.cycle(datetime(2026, 11, 25, 15, 20, tzinfo=UTC))
    assert "Updated Outlook event 'Repaired'" in messages(repaired), messages(repaired)
    assert "Repaired" in world.outlook()
    assert "Will be garbled" not in world.outlook()
