"""R18: the action an activity row stores is a stable value per kind of decision, not
derived from the decision's class name (issue 18): renaming a class changes no data."""

from __future__ import annotations

import pytest

from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    CreateEvent,
    CreateTask,
    Decision,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.reasons import Action

# The values stored in activity rows since the first release.
STORED: list[tuple[type[Decision], str]] = [
    (CreateEvent, "create_event"),
    (UpdateEvent, "update_event"),
    (CreateTask, "create_task"),
    (UpdateTask, "update_task"),
    (MarkDeletedInOutlook, "mark_deleted_in_outlook"),
    (MarkTaskDeleted, "mark_task_deleted"),
    (AdoptEvent, "adopt_event"),
    (AdoptTask, "adopt_task"),
    (Skip, "skip"),
]


@pytest.mark.parametrize(("kind", "stored"), STORED)
def test_each_kind_of_decision_stores_its_action_R18(kind: type[Decision], stored: str) -> None:
    assert kind.action == stored
    assert Action(stored) is kind.action


def test_every_action_belongs_to_exactly_one_kind_of_decision() -> None:
    assert sorted(kind.action for kind, _ in STORED) == sorted(Action)
