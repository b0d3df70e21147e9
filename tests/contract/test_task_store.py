"""The TaskStore contract (ports.py), run on the fake, on SQLite and on PostgreSQL.

Every implementation must behave alike: R1 push candidates with R4 addresses, R9 imports,
R10/R12b optimistic updates, R13 flags, R16b external refs, R20 employees, R23
adaptations, and the store's time zone with DST (gap moved forward, fold first).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixture's type; mypy names test modules from tests/ (pyproject)
    from contract.conftest import TaskEnv

from s5sync.core.snapshots import TaskDraft, TaskKind
from s5sync.sync.ports import WriteConflict
from s5sync.systemfive.errors import SystemFiveUnavailable, UnknownEmployee
from s5sync.systemfive.values import CUT_MARKER


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def draft(title: str = "Install shelves", **changes: object) -> TaskDraft:
    values: dict[str, object] = {
        "title": title,
        "notes": "From Outlook",
        "start": utc(2026, 12, 2, 15, 0),
        "end": utc(2026, 12, 2, 16, 0),
        "alarm_minutes": 15,
    }
    values.update(changes)
    return TaskDraft(**values)  # type: ignore[arg-type]


def scene(env: TaskEnv) -> dict[str, int]:
    """Two employees, customers with several addresses, tasks of every kind."""
    desk = env.desk
    alice = desk.add_employee("E001", "Alice Martin", "alice@contoso.example")
    bob = desk.add_employee("E002", "Bob Nguyen", "bob@contoso.example")
    zoe = desk.add_customer(
        "Zoë Brontë",
        [
            ("ship_to", "2 Ship Lane", "Albany"),
            ("bill_to", "1 Bill Road", "Albany"),
            ("bill_to", "9 Later Bill Road", "Troy"),
            ("ship_to", "8 Later Ship Lane", "Troy"),
        ],
    )
    soren = desk.add_customer("Søren Ærø", [("bill_to", "Østergade 4", "København")])
    ids = {"alice": alice, "bob": bob, "zoe": zoe, "soren": soren}
    day = "2026-12-01"
    ids["delivery"] = desk.add_task(
        alice, "delivery", "Deliver sofa", f"{day}T10:00:00", f"{day}T11:00:00",
        customer_id=zoe, sync=True, alarm_minutes=30,
    )  # fmt: skip
    ids["customer"] = desk.add_task(
        alice, "customer", "Measure room", f"{day}T09:00:00", f"{day}T09:30:00",
        customer_id=soren, sync=True,
    )  # fmt: skip
    ids["unticked"] = desk.add_task(
        alice, "customer", "Unticked", f"{day}T12:00:00", f"{day}T13:00:00", customer_id=zoe
    )
    ids["service"] = desk.add_task(
        alice, "service", "Repair", f"{day}T14:00:00", f"{day}T15:00:00", sync=True
    )
    ids["internal"] = desk.add_task(
        alice, "internal", "Meeting", f"{day}T16:00:00", f"{day}T17:00:00", sync=True
    )
    ids["bobs"] = desk.add_task(
        bob, "delivery", "Bob's delivery", f"{day}T10:00:00", f"{day}T11:00:00", sync=True
    )
    ids["soren_delivery"] = desk.add_task(
        alice, "delivery", "Deliver rug", f"{day}T18:00:00", f"{day}T18:30:00",
        customer_id=soren, sync=True,
    )  # fmt: skip
    return ids


class TestTaskStoreContract:
    async def test_push_candidates_are_ticked_customer_and_delivery_tasks_of_the_employee_R1(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        tasks = await task_env.store.push_candidates(ids["alice"])
        assert [t.id for t in tasks] == [ids["customer"], ids["delivery"], ids["soren_delivery"]]
        assert all(t.sync and t.kind in (TaskKind.CUSTOMER, TaskKind.DELIVERY) for t in tasks)
        assert await task_env.store.push_candidates(9999) == []

    async def test_push_candidates_carry_the_lowest_id_address_of_each_kind_R4(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        by_id = {t.id: t for t in await task_env.store.push_candidates(ids["alice"])}
        delivery = by_id[ids["delivery"]]
        assert delivery.customer_name == "Zoë Brontë"
        assert delivery.bill_to is not None
        assert delivery.bill_to.line1 == "1 Bill Road"
        assert delivery.ship_to is not None
        assert delivery.ship_to.line1 == "2 Ship Lane"
        assert (delivery.bill_to.kind, delivery.ship_to.kind) == ("bill_to", "ship_to")
        bill_only = by_id[ids["soren_delivery"]]
        assert bill_only.ship_to is None
        assert bill_only.bill_to is not None
        assert (bill_only.bill_to.line1, bill_only.bill_to.city) == ("Østergade 4", "København")

    async def test_wall_clock_times_are_read_in_the_store_zone(self, task_env: TaskEnv) -> None:
        ids = scene(task_env)
        task = (await task_env.store.tasks_by_id([ids["delivery"]]))[ids["delivery"]]
        # 10:00 in New York on 1 December is 15:00 UTC (EST, UTC-5).
        assert (task.start, task.end) == (utc(2026, 12, 1, 15, 0), utc(2026, 12, 1, 16, 0))
        assert task.alarm_minutes == 30
        assert task.time_notes == ()
        assert task.updated_at != ""

    async def test_tasks_by_id_leaves_out_deleted_tasks(self, task_env: TaskEnv) -> None:
        ids = scene(task_env)
        task_env.desk.delete_task(ids["customer"])
        found = await task_env.store.tasks_by_id([ids["customer"], ids["delivery"], 4242])
        assert set(found) == {ids["delivery"]}
        assert await task_env.store.tasks_by_id([]) == {}

    async def test_imported_task_is_outlook_kind_unticked_and_needs_review_R9(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        task = await task_env.store.create_imported_task(ids["bob"], draft(), "AAMk-event-1")
        assert task.kind is TaskKind.OUTLOOK
        assert (task.sync, task.needs_review) == (False, True)
        assert (task.employee_id, task.external_ref) == (ids["bob"], "AAMk-event-1")
        assert (task.title, task.notes, task.alarm_minutes) == (
            "Install shelves",
            "From Outlook",
            15,
        )
        assert (task.start, task.end) == (utc(2026, 12, 2, 15, 0), utc(2026, 12, 2, 16, 0))
        assert task.customer_name is None
        assert task.bill_to is None
        assert await task_env.store.task_by_external_ref("AAMk-event-1") == task
        assert await task_env.store.task_by_external_ref("AAMk-unknown") is None

    async def test_importing_an_event_twice_returns_its_one_task_R16(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        first = await task_env.store.create_imported_task(ids["bob"], draft(), "AAMk-1")
        again = await task_env.store.create_imported_task(ids["bob"], draft("Other"), "AAMk-1")
        assert again.id == first.id
        assert again.title == "Install shelves"

    async def test_import_for_an_unknown_employee_is_refused_clearly(
        self, task_env: TaskEnv
    ) -> None:
        scene(task_env)
        with pytest.raises(UnknownEmployee, match="employee 777"):
            await task_env.store.create_imported_task(777, draft(), "AAMk-2")

    async def test_task_ids_are_never_reused(self, task_env: TaskEnv) -> None:
        ids = scene(task_env)
        last = await task_env.store.create_imported_task(ids["bob"], draft(), "AAMk-3")
        task_env.desk.delete_task(last.id)
        after = await task_env.store.create_imported_task(ids["bob"], draft(), "AAMk-4")
        assert after.id > last.id

    async def test_update_overwrites_owned_fields_and_flags_needs_review_R10_R13(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        before = (await task_env.store.tasks_by_id([ids["delivery"]]))[ids["delivery"]]
        new = draft("Deliver sofa (moved)", alarm_minutes=None, notes="Ring twice")
        after = await task_env.store.update_task_from_event(before.id, before.updated_at, new)
        assert not isinstance(after, WriteConflict)
        assert (after.title, after.notes, after.alarm_minutes) == (
            "Deliver sofa (moved)",
            "Ring twice",
            None,
        )
        assert (after.start, after.end) == (new.start, new.end)
        assert after.needs_review
        assert after.sync
        assert after.kind is TaskKind.DELIVERY
        assert after.updated_at != before.updated_at
        assert after.customer_name == "Zoë Brontë"

    async def test_update_after_a_save_in_system_five_is_a_conflict_and_keeps_the_save_R12b(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        seen = (await task_env.store.tasks_by_id([ids["delivery"]]))[ids["delivery"]]
        task_env.desk.save_task(ids["delivery"], title="Saved at the desk")
        outcome = await task_env.store.update_task_from_event(
            seen.id, seen.updated_at, draft("From Outlook")
        )
        assert isinstance(outcome, WriteConflict)
        assert outcome.current is not None
        assert outcome.current.title == "Saved at the desk"
        # Next cycle decides again with what it reads now, and its write lands.
        retried = await task_env.store.update_task_from_event(
            seen.id, outcome.current.updated_at, draft("From Outlook")
        )
        assert not isinstance(retried, WriteConflict)
        assert retried.title == "From Outlook"

    async def test_update_of_a_deleted_task_is_a_conflict_without_current(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        seen = (await task_env.store.tasks_by_id([ids["delivery"]]))[ids["delivery"]]
        task_env.desk.delete_task(seen.id)
        outcome = await task_env.store.update_task_from_event(seen.id, seen.updated_at, draft())
        assert outcome == WriteConflict(task_id=seen.id, current=None)

    async def test_a_desk_save_clears_needs_review_R13(self, task_env: TaskEnv) -> None:
        ids = scene(task_env)
        task = await task_env.store.create_imported_task(ids["alice"], draft(), "AAMk-5")
        task_env.desk.save_task(task.id)
        saved = (await task_env.store.tasks_by_id([task.id]))[task.id]
        assert not saved.needs_review
        assert saved.updated_at != task.updated_at

    async def test_two_writes_within_one_second_leave_different_updated_at(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        frozen = utc(2026, 11, 25, 12, 0, 0)
        store = task_env.make_store(lambda: frozen)
        first = await store.create_imported_task(ids["alice"], draft(), "AAMk-6")
        second = await store.update_task_from_event(first.id, first.updated_at, draft("B"))
        assert not isinstance(second, WriteConflict)
        third = await store.update_task_from_event(first.id, second.updated_at, draft("C"))
        assert not isinstance(third, WriteConflict)
        assert len({first.updated_at, second.updated_at, third.updated_at}) == 3
        stale = await store.update_task_from_event(first.id, second.updated_at, draft("D"))
        assert isinstance(stale, WriteConflict)

    async def test_too_long_title_and_notes_are_cut_with_a_marker_and_reported_R23(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        long = draft("T" * 150, notes="N" * 5000)
        task = await task_env.store.create_imported_task(ids["alice"], long, "AAMk-7")
        assert len(task.title) == 100
        assert task.title.endswith(CUT_MARKER)
        assert len(task.notes) == 4000
        assert task.notes.endswith(CUT_MARKER)
        assert any("title cut from 150 to 100" in note for note in task.time_notes)
        assert any("notes cut from 5000 to 4000" in note for note in task.time_notes)
        updated = await task_env.store.update_task_from_event(task.id, task.updated_at, long)
        assert not isinstance(updated, WriteConflict)
        assert len(updated.title) == 100
        assert len(updated.time_notes) == 2

    async def test_an_end_before_the_start_or_no_title_is_adapted_and_reported_R23(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        bad = draft("  ", start=utc(2026, 12, 2, 15), end=utc(2026, 12, 2, 14))
        task = await task_env.store.create_imported_task(ids["alice"], bad, "AAMk-8")
        assert task.title == "(no title)"
        assert task.end == task.start == utc(2026, 12, 2, 15)
        assert any("end was before the start" in note for note in task.time_notes)
        assert any("no title" in note for note in task.time_notes)

    async def test_spring_forward_gap_is_moved_forward_and_reported(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        # 2026-03-08 02:30 does not exist in New York: clocks jump from 02:00 to 03:00 EDT.
        gap = task_env.desk.add_task(
            ids["alice"], "delivery", "Gap", "2026-03-08T02:30:00", "2026-03-08T04:00:00",
            sync=True,
        )  # fmt: skip
        task = (await task_env.store.tasks_by_id([gap]))[gap]
        assert task.start == utc(2026, 3, 8, 7, 30)  # 03:30 EDT
        assert task.end == utc(2026, 3, 8, 8, 0)  # 04:00 EDT
        assert len(task.time_notes) == 1
        assert "does not exist" in task.time_notes[0]
        assert "03:30" in task.time_notes[0]
        # And back: writing that instant stores the wall time that exists, 03:30.
        back = await task_env.store.update_task_from_event(
            gap, task.updated_at, draft(start=task.start, end=task.end)
        )
        assert not isinstance(back, WriteConflict)
        assert (back.start, back.time_notes) == (utc(2026, 3, 8, 7, 30), ())

    async def test_fall_back_fold_reads_the_first_occurrence_and_reports_it(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        # 2026-11-01 01:30 happens twice in New York: first EDT (05:30 UTC), then EST.
        fold = task_env.desk.add_task(
            ids["alice"], "customer", "Fold", "2026-11-01T01:30:00", "2026-11-01T03:00:00",
            sync=True,
        )  # fmt: skip
        task = (await task_env.store.tasks_by_id([fold]))[fold]
        assert task.start == utc(2026, 11, 1, 5, 30)
        assert task.end == utc(2026, 11, 1, 8, 0)
        assert len(task.time_notes) == 1
        assert "happens twice" in task.time_notes[0]
        # And back: the first occurrence round-trips; the second is stored as the same
        # wall time, which System Five can only read as the first — reported.
        first = await task_env.store.update_task_from_event(
            fold, task.updated_at, draft(start=utc(2026, 11, 1, 5, 30), end=task.end)
        )
        assert not isinstance(first, WriteConflict)
        assert first.start == utc(2026, 11, 1, 5, 30)
        second_start = utc(2026, 11, 1, 6, 30)  # 01:30 EST, the second 01:30
        second = await task_env.store.update_task_from_event(
            fold, first.updated_at, draft(start=second_start, end=second_start + timedelta(hours=1))
        )
        assert not isinstance(second, WriteConflict)
        assert second.start == utc(2026, 11, 1, 5, 30)
        assert any("reads as the first" in note for note in second.time_notes)

    async def test_employees_are_listed_and_found_by_email_in_any_case_R20(
        self, task_env: TaskEnv
    ) -> None:
        ids = scene(task_env)
        people = await task_env.store.employees()
        assert [(p.code, p.name, p.email) for p in people] == [
            ("E001", "Alice Martin", "alice@contoso.example"),
            ("E002", "Bob Nguyen", "bob@contoso.example"),
        ]
        found = await task_env.store.employee_by_email("BOB@Contoso.Example")
        assert found is not None
        assert found.id == ids["bob"]
        assert await task_env.store.employee_by_email("nobody@contoso.example") is None

    async def test_an_unreachable_system_five_raises_one_known_error_without_secrets_R17b(
        self, task_env: TaskEnv
    ) -> None:
        store = task_env.unreachable()
        calls = [
            store.push_candidates(1),
            store.tasks_by_id([1]),
            store.task_by_external_ref("AAMk"),
            store.create_imported_task(1, draft(), "AAMk"),
            store.update_task_from_event(1, "", draft()),
            store.employees(),
            store.employee_by_email("alice@contoso.example"),
        ]
        for call in calls:
            with pytest.raises(SystemFiveUnavailable) as raised:
                await call
            assert "s3cret" not in str(raised.value)
            assert raised.value.__cause__ is None
