"""The alert rules as tables (R21d, R19b, R20): which problems open, who is told, when
it is said again, and the recovery and digest notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from s5sync.core.alerts import (
    SYSTEM_FIVE_UNREADABLE,
    NoticeKind,
    OpenAlert,
    Problem,
    RunFact,
    StoreFacts,
    UserFacts,
    plan_alerts,
    user_problem,
)

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York
ADMIN = "ada@contoso.test"


def failed(minutes_ago: int, error: str = "Graph answered 500") -> RunFact:
    return RunFact(NOW - timedelta(minutes=minutes_ago), "failed", error)


def ok(minutes_ago: int) -> RunFact:
    return RunFact(NOW - timedelta(minutes=minutes_ago), "ok")


def bob(**changes: object) -> UserFacts:
    base = UserFacts(7, "bob@contoso.test", "Bob", "Active", created_at=NOW - timedelta(days=3))
    return replace(base, **changes)  # type: ignore[arg-type]


def store(*users: UserFacts, **changes: object) -> StoreFacts:
    base = StoreFacts(1, "Contoso", "America/New_York", (ADMIN,), users)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (bob(), None),
        (bob(needs_sign_in=True), Problem.NEEDS_SIGN_IN),
        (bob(onboarded=False), Problem.NOT_MATCHED),
        (bob(onboarded=False, created_at=NOW - timedelta(minutes=20)), None),  # grace
        (bob(onboarded=False, signed_in=False), None),  # named, never signed in
        (bob(runs=(failed(0), failed(10))), None),  # two in a row: not yet
        (bob(runs=(failed(0), failed(10), failed(20))), Problem.FAILING),
        (bob(runs=(failed(0), failed(10), ok(20), failed(30))), None),
        (bob(runs=(failed(0), failed(65))), Problem.FAILING),  # failing for an hour
        (bob(runs=(ok(0), failed(10), failed(20), failed(30))), None),  # recovered
    ],
)
def test_a_users_problem_R21d(user: UserFacts, expected: Problem | None) -> None:
    assert user_problem(user, NOW, store_unreachable=False) == expected


def test_a_new_problem_opens_and_mails_the_administrators_once_R21d() -> None:
    facts = store(bob(runs=(failed(0), failed(10), failed(20))))
    plan = plan_alerts(facts, (), NOW)
    assert [(a.subject, a.problem) for a in plan.opened] == [("user:7", Problem.FAILING)]
    assert [(n.kind, n.recipient) for n in plan.notices] == [(NoticeKind.ALERT, ADMIN)]
    again = plan_alerts(facts, plan.alerted, NOW + timedelta(hours=3))
    assert again.notices == ()
    assert again.opened == ()


def test_a_lasting_problem_is_mailed_again_the_next_store_day_R21d() -> None:
    facts = store(bob(needs_sign_in=True))
    open_ = (OpenAlert("user:7", Problem.NEEDS_SIGN_IN, NOW, date(2026, 12, 3), 7),)
    plan = plan_alerts(facts, open_, NOW)
    assert {n.recipient for n in plan.notices} == {ADMIN, "bob@contoso.test"}
    assert [a.last_alerted_on for a in plan.alerted] == [date(2026, 12, 4)]


def test_the_user_who_must_sign_in_again_is_told_too_R19b() -> None:
    plan = plan_alerts(store(bob(needs_sign_in=True)), (), NOW)
    to_user = [n for n in plan.notices if n.to_the_user]
    assert [n.recipient for n in to_user] == ["bob@contoso.test"]


def test_a_problem_gone_closes_with_a_recovery_mail_R21d() -> None:
    open_ = (OpenAlert("user:7", Problem.FAILING, NOW - timedelta(hours=2), date(2026, 12, 4), 7),)
    plan = plan_alerts(store(bob(runs=(ok(0), failed(10)))), open_, NOW)
    assert plan.closed == open_
    assert [(n.kind, n.recipient) for n in plan.notices] == [(NoticeKind.RECOVERY, ADMIN)]


def test_a_problem_never_mailed_closes_silently_R21d() -> None:
    open_ = (OpenAlert("user:7", Problem.FAILING, NOW - timedelta(hours=2), None, 7),)
    plan = plan_alerts(store(bob()), open_, NOW)
    assert plan.closed == open_
    assert plan.notices == ()


def test_without_mail_problems_still_open_for_the_health_page_R21d() -> None:
    plan = plan_alerts(store(bob(needs_sign_in=True), mail_enabled=False), (), NOW)
    assert [a.problem for a in plan.opened] == [Problem.NEEDS_SIGN_IN]
    assert plan.notices == ()
    assert plan.alerted == ()


def test_system_five_unreachable_is_one_store_alert_not_one_per_user_R21d() -> None:
    down = f"{SYSTEM_FIVE_UNREADABLE} (OperationalError)"
    runs = (failed(0, down), failed(10, down), failed(20, down))
    facts = store(bob(runs=runs), bob(user_id=8, email="cy@contoso.test", runs=runs))
    facts = replace(facts, store_runs=runs)
    plan = plan_alerts(facts, (), NOW)
    assert [(a.subject, a.problem) for a in plan.opened] == [
        ("store", Problem.SYSTEM_FIVE_UNREACHABLE)
    ]
    assert len(plan.notices) == 1


def test_one_bad_cycle_does_not_make_system_five_unreachable_R21d() -> None:
    down = f"{SYSTEM_FIVE_UNREADABLE} (TimeoutError)"
    facts = store(store_runs=(failed(0, down), ok(10)))
    assert plan_alerts(facts, (), NOW).opened == ()


def test_the_digest_goes_once_a_day_after_eight_store_time_R21d() -> None:
    facts = store(bob(needs_sign_in=True), digest=True)
    early = plan_alerts(facts, (), NOW.replace(hour=12))  # 07:00 in New York
    assert all(n.kind is not NoticeKind.DIGEST for n in early.notices)
    digests = [n for n in plan_alerts(facts, (), NOW).notices if n.kind is NoticeKind.DIGEST]
    assert [n.recipient for n in digests] == [ADMIN]
    assert digests[0].open_alerts == (("bob@contoso.test", Problem.NEEDS_SIGN_IN),)
    later = [n for n in plan_alerts(facts, (), NOW + timedelta(hours=5)).notices]
    assert {n.dedupe_key for n in later if n.kind is NoticeKind.DIGEST} == {
        digests[0].dedupe_key
    }  # the same key: the outbox keeps one


def test_an_administrator_who_is_the_user_gets_one_mail_R21d() -> None:
    facts = store(bob(needs_sign_in=True), administrators=("BOB@contoso.test",))
    assert len(plan_alerts(facts, (), NOW).notices) == 1
