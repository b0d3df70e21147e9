"""The oracle's comparisons (issue 13): both real sides against the model of one user.

`both_sides_equal` says nothing was deleted on the other side (R6, R11), nothing was
created again (R7b, R11b), no task has two events (R16) and every owned field is what the
rules say; `bind_new_items` finds, for each item the model says s5sync had to create,
exactly one real item carrying the right identity (R16, R16b).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from support.reliability_model import ZONE, UserModel
from support.reliability_stack import Account, Stack, event_body_text, event_task_ref

WRITE_ROUTES = ("POST", "PATCH", "DELETE", "PUT")
ARTIFACT = Path(
    os.environ.get(
        "S5SYNC_RELIABILITY_ARTIFACT",
        Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability.json",
    )
)


def bind_new_items(stack: Stack, account: Account, model: UserModel) -> None:
    """Name what the cycle had to create: exactly one of each (R16)."""
    events = stack.real_events(account)
    for placeholder, task_id in sorted(model.new_events.items()):
        made = [e.id for e in events.values() if event_task_ref(e) == task_id]
        made = [i for i in made if i not in model.events]
        assert len(made) == 1, f"task {task_id} should have one new event, has {made}"
        model.bind_event(placeholder, made[0])
    tasks = stack.real_tasks(account)
    for task_placeholder, event_id in sorted(model.new_tasks.items()):
        made_tasks = [i for i, r in tasks.items() if r.external_ref == event_id]
        made_tasks = [i for i in made_tasks if i not in model.tasks]
        assert len(made_tasks) == 1, f"event should have one new task, has {made_tasks}"
        model.bind_task(task_placeholder, made_tasks[0])


def both_sides_equal(stack: Stack, account: Account, model: UserModel, name: str) -> None:
    """R6, R11: nothing deleted; R16: nothing twice; every field as the rules say."""
    events = stack.real_events(account)
    tasks = stack.real_tasks(account)
    assert set(events) == set(model.events), (
        f"{name}'s calendar: extra {sorted(set(events) - set(model.events))}, "
        f"missing {sorted(set(model.events) - set(events))}"
    )
    assert set(tasks) == set(model.tasks), (
        f"{name}'s tasks: extra {sorted(set(tasks) - set(model.tasks))}, "
        f"missing {sorted(set(model.tasks) - set(tasks))}"
    )
    refs = Counter(r for e in events.values() if (r := event_task_ref(e)) is not None)
    assert all(n == 1 for n in refs.values()), f"a task has two events (R16): {refs}"
    for event_id, expected in model.events.items():
        real = events[event_id]
        seen = (
            real.subject,
            event_body_text(real),
            real.start,
            real.end,
            real.reminder_minutes if real.is_reminder_on else None,
        )
        want = (
            expected.subject,
            " ".join(expected.body.split()),
            expected.start,
            expected.end,
            expected.reminder,
        )
        assert seen == want, f"event {event_id}: is {seen}, should be {want}"
    for task_id, expected_task in model.tasks.items():
        row = tasks[task_id]
        seen_task = (
            row.kind,
            row.title,
            row.notes or "",
            from_wall(datetime.fromisoformat(row.starts_at)),
            from_wall(datetime.fromisoformat(row.ends_at)),
            row.alarm_minutes,
            bool(row.sync),
            bool(row.needs_review),
            row.external_ref,
        )
        want_task = (
            expected_task.kind,
            expected_task.title,
            expected_task.notes,
            expected_task.start,
            expected_task.end,
            expected_task.alarm,
            expected_task.sync,
            expected_task.needs_review,
            expected_task.external_ref,
        )
        assert seen_task == want_task, f"task {task_id}: is {seen_task}, should be {want_task}"


def is_write(route: str) -> bool:
    """A write request or batch item ("POST /$batch" itself only carries items)."""
    return route.split()[0] in WRITE_ROUTES and not route.endswith("/$batch")


def wall(instant: datetime) -> datetime:
    return instant.astimezone(ZONE).replace(tzinfo=None, second=0, microsecond=0)


def from_wall(local: datetime) -> datetime:
    return local.replace(tzinfo=ZONE, fold=0).astimezone(UTC)


def graph_time(instant: datetime) -> dict[str, str]:
    return {"dateTime": instant.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
