"""Ports: small Protocols in our own words (STYLE.md habits 4–6).

Each port returns our frozen dataclasses (core.snapshots), never ORM rows or Graph JSON.
Each has an in-memory fake in `s5sync.testing` and one contract suite in
`tests/contract/` run on the fake and on every real adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from s5sync.core.snapshots import TaskDraft, TaskSnapshot


@dataclass(frozen=True)
class Employee:
    """A System Five employee, for onboarding (R20)."""

    id: int
    code: str
    name: str
    email: str


@dataclass(frozen=True)
class WriteConflict:
    """An optimistic write lost: the task was saved in System Five meanwhile (R12b).

    The engine decides again on the next cycle with the new values.
    """

    task_id: int
    current: TaskSnapshot | None


class TaskStore(Protocol):
    """The System Five side of one store (R1, R4, R9–R13)."""

    async def push_candidates(self, employee_id: int) -> list[TaskSnapshot]:
        """R1: the employee's Customer and Delivery tasks with Sync ticked, in one query."""
        ...

    async def tasks_by_id(self, task_ids: Sequence[int]) -> dict[int, TaskSnapshot]:
        """The tasks that still exist among `task_ids` (absent = deleted in System Five)."""
        ...

    async def task_by_external_ref(self, external_ref: str) -> TaskSnapshot | None:
        """R16b: the task imported from the event `external_ref`, if any."""
        ...

    async def create_imported_task(
        self, employee_id: int, draft: TaskDraft, external_ref: str
    ) -> TaskSnapshot:
        """R9: a kind-Outlook task, Sync unticked, needs-review, `external_ref` set."""
        ...

    async def update_task_from_event(
        self, task_id: int, seen_updated_at: str, draft: TaskDraft
    ) -> TaskSnapshot | WriteConflict:
        """R10/R12/R12b: overwrite the owned fields and flag needs-review, optimistically."""
        ...

    async def employees(self) -> list[Employee]:
        """Every employee, for onboarding (R20)."""
        ...
