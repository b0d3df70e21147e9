"""Stories the reliability machine found, kept as plain tests (issue 13).

Each drives the same machine (`support.reliability_machine.Reliability`) through the steps
of one found failure, so the model oracle and the idle-cycle checks (R17, R23b) judge
them exactly as in the random runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s5sync.testing.crashing import Crash
from support.reliability_machine import Reliability
from support.reliability_stack import Templates
from support.reliability_story import Pick, Step, When, Who

ALICE = Who(0)


@pytest.fixture
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reliability]:
    Reliability.templates = Templates(tmp_path_factory.mktemp("stories"))
    built = Reliability()
    built.counted = False  # stories are not part of the run's figures
    try:
        yield built
    finally:
        built.teardown()


def test_idle_cycle_of_a_user_with_no_links_and_a_started_task_costs_one_request_R23b(
    machine: Reliability,
) -> None:
    machine.staff_create_task(ALICE, "customer", "Visit Smith", "", When(-60), 30, None, True)
    machine.sync_cycle(ALICE, None)  # checks the following idle cycle costs one request
    machine.clock_moves(Step("by", 10))
    machine.sync_cycle(ALICE, None)


def test_pending_row_of_a_task_that_started_is_not_looked_up_every_cycle_R23b_R16(
    machine: Reliability,
) -> None:
    machine.sync_cycle(ALICE, None)
    machine.staff_create_task(ALICE, "customer", "Visit Smith", "", When(30), 30, None, True)
    machine.stack.plan.arm(1, after=False)  # killed before the event is sent
    with pytest.raises(Crash):
        machine.run(machine.stack.cycle(machine.account(ALICE)))
    machine.run(machine.stack.free_lease(machine.account(ALICE)))
    machine.clock_moves(Step("by", 60))  # the task has started: it is never pushed (R2)
    machine.sync_cycle(ALICE, None)


def test_our_own_update_of_a_tagged_event_is_not_taken_for_an_outlook_edit_after_a_crash_R17_R12b(
    machine: Reliability,
) -> None:
    machine.staff_create_task(
        ALICE, "delivery", "Deliver sofa", "", When(2 * 24 * 60), 60, None, True
    )
    machine.sync_cycle(ALICE, None)
    machine.user_retitle_event(ALICE, Pick(0), "Lunch [sync]")
    machine.sync_cycle(ALICE, None)  # R12: the tag makes the event update its task
    machine.staff_rename_task(ALICE, Pick(0), "Visit Smith")
    machine.sync_cycle_killed_at_write(ALICE, 1, True)  # killed after the PATCH


def test_lost_mapping_of_an_imported_task_pushed_back_keeps_the_task_as_staff_saved_it_R16b_R12d(
    machine: Reliability,
) -> None:
    machine.user_create_event(ALICE, "Survey [Sync]", "Call first", When(2 * 24 * 60), 30, 15)
    machine.sync_cycle(ALICE, None)  # R9: imported, needs review
    machine.staff_make_task_a_synced_visit(ALICE, Pick(0), "delivery")  # R12d, reviewed
    machine.sync_cycle(ALICE, None)  # pushed back to the event it came from
    machine.mapping_rows_lost(ALICE)
    machine.sync_cycle(ALICE, None)  # found again by the event's identity: not re-flagged


async def reasons(machine: Reliability) -> list[str | None]:
    scope = machine.stack.services.scope(machine.stack.tenant.id)
    async with scope.begin(write=False) as unit:
        rows = await unit.runs.activity(machine.account(ALICE).record.id, limit=200)
    return [row.reason for row in rows]


def test_deleted_event_is_not_recreated_and_the_activity_log_says_so_R7b_R18(
    machine: Reliability,
) -> None:
    machine.staff_create_task(
        ALICE, "delivery", "Deliver sofa", "", When(3 * 24 * 60), 60, 15, True
    )
    machine.sync_cycle(ALICE, None)
    machine.user_delete_event(ALICE, Pick(0))
    machine.sync_cycle(ALICE, None)
    machine.staff_rename_task(ALICE, Pick(0), "Visit Smith")
    machine.sync_cycle(ALICE, None)  # the model: no new event (R7b)
    assert "deleted_in_outlook" in machine.run(reasons(machine))


def test_deleted_imported_task_is_not_imported_again_and_the_activity_log_says_so_R11b_R18(
    machine: Reliability,
) -> None:
    machine.user_create_event(ALICE, "Measure [sync]", "Tape", When(2 * 24 * 60), 60, None)
    machine.sync_cycle(ALICE, None)
    machine.staff_delete_task(ALICE, Pick(0))
    machine.sync_cycle(ALICE, None)
    machine.user_retitle_event(ALICE, Pick(0), "Lunch [sync]")
    machine.sync_cycle(ALICE, None)  # the model: no new task (R11b)
    assert "deleted_in_system_five" in machine.run(reasons(machine))


def test_a_task_changed_while_its_tagged_event_is_beyond_the_window_keeps_the_tag_R5_R12(
    machine: Reliability,
) -> None:
    """Found by the long profile (issue 23 item 5, seed 2041…1331): the event lies beyond
    the window cache when its task changes, so the update must read it first — or the
    user's tag is dropped from its subject (R5: a tagged pushed event keeps the tag)."""
    machine.staff_create_task(
        ALICE, "customer", "Visit Smith", "", When(2 * 24 * 60), 30, None, True
    )
    machine.sync_cycle(ALICE, None)
    machine.staff_move_task(ALICE, Pick(0), 20 * 24 * 60)  # the event goes beyond the window
    machine.sync_cycle(ALICE, None)
    machine.user_retitle_event(ALICE, Pick(0), "Survey [Sync]")  # unseen: beyond the window
    machine.staff_rename_task(ALICE, Pick(0), "Fit blinds")
    machine.sync_cycle(ALICE, None)  # the model: 'Fit blinds [Sync]'


def test_a_lost_mapping_and_a_moved_event_beyond_the_window_follow_the_task_R16_R16b(
    machine: Reliability,
) -> None:
    """Found by the long profile (issue 23 item 5: 'Deliver sofa', 15:25 where the model
    says 14:10): every mapping row is lost and the user moves the pushed event beyond the
    window; the task is sent again under its transactionId and Graph answers with the
    event it already has — the moved one. s5sync must not link it as if it held the task's
    values: it is updated to them in the same cycle (R5, R16), never duplicated."""
    machine.staff_create_task(
        ALICE, "delivery", "Deliver sofa", "", When(2 * 24 * 60), 30, None, True
    )
    machine.sync_cycle(ALICE, None)
    machine.something_goes_wrong(ALICE, "mapping rows lost")
    machine.user_move_event(ALICE, Pick(0), 20 * 24 * 60)  # beyond the window
    machine.sync_cycle(ALICE, None)  # the model: the task's time
