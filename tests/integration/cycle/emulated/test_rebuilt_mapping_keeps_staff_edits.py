"""A rebuilt mapping keeps what staff saved (issue 23 item 3; R16b, R12b, R18).

Through both emulators: an imported task that staff edited (notes changed, review flag
cleared) is found again after a restored older CALENDAREVENT backup, and after `s5sync
user remove` and a new sign-in — and is left as staff saved it: not re-flagged, not
overwritten by the event it came from, and the log does not say the event changed. A
real change of both sides after the rebuild follows R12b: Outlook wins, the task is
flagged, and the replaced System Five values are kept in the activity log.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack
from support.emulated_world import (
    ALICE,
    LATER,
    NOW,
    create_event,
    edit_event,
    links,
    save_task,
    task,
)


def messages(result: CycleResult) -> str:
    return "\n".join(entry.message for entry in result.entries)


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup (as an administrator's backup and restore would)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def imported_and_edited(world: Stack) -> tuple[str, int]:
    event_id = create_event(world, ALICE, "Measure kitchen [sync]", NOW + timedelta(days=2))
    first = await world.cycle(ALICE, NOW)
    assert first.outcome == "ok", first.error
    [link] = await links(world, ALICE)
    assert link.task_id is not None
    save_task(world, link.task_id, notes="Staff: bring the long ladder")  # clears review
    return event_id, link.task_id


def assert_as_staff_saved(world: Stack, task_id: int, result: CycleResult) -> None:
    assert result.outcome == "ok", result.error
    row = task(world, task_id)
    assert row.notes == "Staff: bring the long ladder"
    assert row.needs_review is False
    assert "changed in Outlook" not in messages(result), messages(result)
    assert "Reconnected event 'Measure kitchen' to its existing System Five task" in messages(
        result
    )


async def test_a_restored_older_backup_keeps_the_staff_edit_R16b(
    world: Stack, tmp_path: Path
) -> None:
    database = Path(world.services.settings.database_url.removeprefix("sqlite:///"))
    backup = tmp_path / "calendarevent-backup.db"
    await world.cycle(ALICE, NOW - LATER)  # the backup: before the event was imported
    copy_database(database, backup)
    _, task_id = await imported_and_edited(world)
    copy_database(backup, database)  # the administrator restores it
    rebuilt = await world.cycle(ALICE, NOW + LATER)
    assert_as_staff_saved(world, task_id, rebuilt)
    idle = await world.cycle(ALICE, NOW + 2 * LATER)
    assert idle.wrote == 0, idle.entries


async def test_remove_and_sign_in_again_keeps_the_staff_edit_and_r12b_still_holds_R16b_R12b(
    world: Stack,
) -> None:
    event_id, task_id = await imported_and_edited(world)
    old = world.users[ALICE]
    async with world.services.scope(world.tenant.id).begin() as unit:
        await unit.users.remove(old.id)  # what `s5sync user remove` does
    await world.sign_in(ALICE, "Alice Martin", employee_id=world.employees[ALICE])
    rebuilt = await world.cycle(ALICE, NOW + LATER)
    assert_as_staff_saved(world, task_id, rebuilt)
    # Now both sides change: R12b, Outlook wins, the System Five values are kept.
    save_task(world, task_id, notes="Staff: second thoughts")
    edit_event(world, ALICE, event_id, subject="Measure kitchen and hall [sync]")
    both = await world.cycle(ALICE, NOW + 2 * LATER)
    assert both.outcome == "ok", both.error
    row = task(world, task_id)
    assert row.title == "Measure kitchen and hall"
    assert row.needs_review is True
    said = messages(both)
    assert "both sides changed; Outlook wins; replaced System Five values" in said, said
    assert f"notes of {len('Staff: second thoughts')} characters" in said, said
