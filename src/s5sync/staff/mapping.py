"""Safe staff mapping (issue 21 item 4; R20, R6, R6b): what mapping, unmapping or
removing a user will do, said before it is done.

Mapping Bob to Dave Okafor's employee record would send Dave's customer visits and
deliveries — with customers' addresses — to Bob's calendar, where they stay (R6 never
deletes). So every such change is first previewed in words and done only once the
administrator confirms; a POST without the confirmation changes nothing. Pure: the
counts come in, the sentence goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from s5sync.core.eligibility import push_blocker
from s5sync.core.records import UserRecord
from s5sync.core.snapshots import Link, LinkState, Origin, TaskSnapshot
from s5sync.sync.ports import Employee


def future_pushes(tasks: Iterable[TaskSnapshot], employee_id: int, now: datetime) -> int:
    """R1, R2: how many of the employee's tasks a cycle would send now."""
    return sum(1 for t in tasks if push_blocker(t, employee_id) is None and t.start > now)


def already_sent(links: Iterable[Link]) -> int:
    """Events s5sync pushed into the user's calendar that are still followed."""
    return sum(
        1
        for link in links
        if link.origin is Origin.S5 and link.state is LinkState.ACTIVE and link.event_id
    )


def employee_words(employee: Employee) -> str:
    return f"{employee.name}, {employee.code}"


@dataclass(frozen=True)
class MappingPreview:
    """What mapping `user` to `employee` will do (R20, R6b)."""

    user: UserRecord
    employee: Employee
    previous: Employee | None
    future: int
    sent: int
    removed_category: str

    @property
    def who(self) -> str:
        return self.user.display_name or self.user.email

    @property
    def unchanged(self) -> bool:
        return self.previous is not None and self.previous.id == self.employee.id

    @property
    def sentence(self) -> str:
        visits = (
            "customer visit or delivery" if self.future == 1 else "customer visits and deliveries"
        )
        text = (
            f"{self.who} will receive {self.future} future {visits} of "
            f"{employee_words(self.employee)}"
        )
        if self.sent and self.previous is not None and not self.unchanged:
            text += (
                f"; {self.sent} already sent to {self.who} stay in their calendar, marked "
                f"'{self.removed_category}' and no longer updated"
            )
        elif self.sent:
            text += f"; {self.sent} already sent to {self.who} stay in their calendar"
        return text + "."


def unmap_sentence(user: UserRecord, sent: int) -> str:
    who = user.display_name or user.email
    return (
        f"{who} will no longer be synced until mapped again; the {sent} events already "
        f"sent to {who} stay in their calendar."
    )


def remove_sentence(user: UserRecord) -> str:
    who = user.display_name or user.email
    return (
        f"s5sync forgets {who}'s sign-in, mapping and records. Nothing is deleted in "
        "Outlook or in System Five."
    )
