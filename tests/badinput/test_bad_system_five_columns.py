"""System Five values that are not what the reference schema says, read by the real
connector in a real cycle (issue 23 item 2; R23, R12d, R16b).

SQLite keeps any value in any column (a BLOB title, text in `alarm_minutes`, bytes that
are not UTF-8), PostgreSQL only what its types allow (a time no clock can show, an
`external_ref` naming nothing): each bad row is adapted or skipped with its reason, and a
good task and a good tagged event of the same cycle still sync. Each database gets the
bad values it lets in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from m365emu.demo import register_app, seed_demo
from m365emu.testing import RunningEmulator
from support.badinput_world import ALICE, NOW, World, messages
from support.cycle_stack import CLIENT_ID, CLIENT_SECRET, REDIRECT, stack


@pytest.fixture
async def any_world(
    tmp_path: Path, running: RunningEmulator, migrated: Path, systemfive_url: str
) -> AsyncIterator[World]:
    """The bad-input world with System Five on SQLite, and on PostgreSQL."""
    running.emulator.reset()
    seed_demo(running.emulator)
    register_app(
        running.emulator, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT]
    )
    async with stack(tmp_path, running, migrated=migrated, systemfive_url=systemfive_url) as built:
        await built.sign_in(ALICE, "Alice Martin")
        yield World(built)


def sql(world: World, statement: str, **values: object) -> None:
    """A statement another tool might run on System Five's database."""
    with world.stack.desk.engine.begin() as conn:
        conn.execute(text(statement), values)


# -- what SQLite lets in ----------------------------------------------------------------


async def test_an_alarm_that_is_text_sends_the_task_without_reminder_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title="Soon alarm", alarm_minutes="soon")
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    assert "alarm 'soon' is not a whole number: no reminder" in messages(result)
    assert world.outlook()["Soon alarm"]["isReminderOn"] is False
    world.assert_good_items_synced(result)


async def test_a_bytes_title_is_read_as_its_text_R23(world: World) -> None:
    world.with_good_items()
    world.raw_task(title=b"Deliver sofa")
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    assert "Sent 'Deliver sofa' to Outlook" in messages(result)
    assert "title was stored as bytes: read as text" in messages(result)
    world.assert_good_items_synced(result)


async def test_a_title_that_is_not_utf8_reads_with_replacement_characters_R23(
    world: World,
) -> None:
    world.with_good_items()
    task_id = world.raw_task(title="placeholder")
    # "Deliver\xff sofa": 0xFF is never UTF-8.
    sql(
        world,
        "UPDATE task SET title = CAST(X'44656c6976657266ff20736f6661' AS TEXT) WHERE id = :i",
        i=task_id,
    )
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    assert "Sent 'Deliverf\ufffd sofa' to Outlook" in messages(result)
    assert "title is not valid UTF-8" in messages(result)
    world.assert_good_items_synced(result)


async def test_an_alarm_beyond_what_outlook_keeps_is_dropped_once_not_every_cycle_R23(
    world: World,
) -> None:
    world.with_good_items()
    world.raw_task(title="Far alarm", alarm_minutes=10**12)
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    said = "alarm of 1000000000000 minutes is more than Outlook keeps: no reminder"
    assert said in messages(result)
    assert world.outlook()["Far alarm"]["isReminderOn"] is False
    world.assert_good_items_synced(result)
    again = await world.cycle(NOW + timedelta(minutes=10))
    assert again.outcome == "ok", again.error
    assert said not in messages(again)
    assert again.wrote == 0


async def test_a_start_stored_as_bytes_that_are_no_time_is_skipped_with_the_reason_R23(
    world: World,
) -> None:
    world.with_good_items()
    world.raw_task(title="Bytes start", starts_at=b"\x00\x01")
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    assert "Bytes start" in messages(result)
    assert "(2 bytes) is not a date and time" in messages(result)
    assert "Bytes start" not in world.outlook()
    world.assert_good_items_synced(result)


# -- what both databases let in ---------------------------------------------------------


async def test_a_start_no_clock_can_show_is_skipped_with_the_reason_R23(
    any_world: World,
) -> None:
    any_world.with_good_items()
    any_world.raw_task(
        title="Year 9999", starts_at="9999-12-31T23:59:00", ends_at="9999-12-31T23:59:30"
    )
    any_world.raw_task(title="Not a time", starts_at="next Tuesday")
    result = await any_world.cycle()
    assert result.outcome == "ok", result.error
    text_ = messages(result)
    assert "start 9999-12-31 23:59 cannot be a time in UTC" in text_
    assert "start 'next Tuesday' is not a date and time" in text_
    any_world.assert_good_items_synced(result)


@pytest.mark.parametrize("named", ["deleted", "malformed"])
async def test_a_delivery_task_naming_an_event_that_does_not_exist_is_sent_and_said_R12d_R16b(
    any_world: World, named: str
) -> None:
    any_world.with_good_items()
    if named == "deleted":
        ref = any_world.event("Deleted meanwhile", "2026-12-01T15:00:00", "2026-12-01T16:00:00")
        with any_world.stack.graph(ALICE) as graph:
            assert graph.delete(f"/me/events/{ref}").status_code == 204
    else:
        ref = "not-an-event-id"  # another tool's value: Graph answers 400 ErrorInvalidIdMalformed
    any_world.raw_task(title="Named nothing", external_ref=ref)
    result = await any_world.cycle()
    assert result.outcome == "ok", result.error
    text_ = messages(result)
    assert "Reconnected" not in text_, text_
    assert "Named nothing" in any_world.outlook(), text_
    assert "does not exist, so it is sent as a new event" in text_, text_
    any_world.assert_good_items_synced(result)
    again = await any_world.cycle(NOW + timedelta(minutes=10))
    assert again.outcome == "ok", again.error
    assert [e["subject"] for e in any_world.stack.events(ALICE)].count("Named nothing") == 1
