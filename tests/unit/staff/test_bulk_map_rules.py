"""`s5sync user map --csv` checks every line first (issue 21 item 5; R20): the plan or
the report of bad lines, by line number; one bad line maps nobody."""

from __future__ import annotations

from s5sync.core.records import UserRecord
from s5sync.staff.bulkmap import plan_bulk_map
from s5sync.sync.ports import Employee

EMPLOYEES = [
    Employee(1, "E001", "Alice Martin", "alice@contoso.test"),
    Employee(2, "E002", "Bob Nguyen", "bob@contoso.test"),
    Employee(4, "E004", "Dave Okafor", "dave@contoso.test"),
]


def user(uid: int, email: str, employee_id: int | None) -> UserRecord:
    return UserRecord(
        id=uid, tenant_id=1, object_id=f"oid-{uid}", email=email, display_name="",
        employee_id=employee_id, onboarded_at=None, is_admin=False, status="active",
        last_error=None, last_heartbeat_at=None, next_run_at=None, last_run_at=None,
        last_outcome=None, sync_now_requested=False, has_token_cache=False,
    )  # fmt: skip


def test_a_good_file_is_planned_with_its_header_and_blank_lines_R20() -> None:
    users = [user(1, "alice@contoso.test", None)]
    plan = plan_bulk_map(
        "email,employee code\nAlice@Contoso.test, e001\n\nbob@contoso.test,E002\n", EMPLOYEES, users
    )
    assert plan.ok
    assert [(r.line, r.email, r.employee.code, r.user) for r in plan.rows] == [
        (2, "alice@contoso.test", "E001", users[0]),
        (4, "bob@contoso.test", "E002", None),
    ]


def test_every_bad_line_is_reported_and_nothing_is_planned_R20() -> None:
    text = "\n".join(
        [
            "ann@contoso.test,E001",
            "not-an-email,E002",
            "cy@contoso.test,E999",
            "ann@contoso.test,E004",
            "dee@contoso.test,E001",
            "too,many,fields",
            "eve@contoso.test,E002",
        ]
    )
    users = [user(7, "bob@contoso.test", 2)]
    plan = plan_bulk_map(text, EMPLOYEES, users)
    assert not plan.ok
    assert plan.problems == (
        "line 2: 'not-an-email' is not an e-mail address",
        "line 3: no System Five employee has the code 'E999'",
        "line 4: ann@contoso.test is on line 1 already",
        "line 5: employee E001 is on line 1 already",
        "line 6: expected 2 fields (email,employee code), got 3",
        "line 7: employee E002 is already mapped to bob@contoso.test",
    )


def test_a_swap_within_the_file_is_allowed_R20() -> None:
    users = [user(1, "alice@contoso.test", 2), user(2, "bob@contoso.test", 1)]
    plan = plan_bulk_map("alice@contoso.test,E001\nbob@contoso.test,E002\n", EMPLOYEES, users)
    assert plan.ok


def test_an_empty_file_is_refused_R20() -> None:
    assert plan_bulk_map("email,employee code\n", EMPLOYEES, []).problems == (
        "the file has no line to map",
    )
