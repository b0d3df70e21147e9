"""Which problems need someone, and who is told (R21d, R19b, R20) — pure.

`plan_alerts(store, open_alerts, now)` takes what the store knows (every user's state and
recent cycles, the last cycles store-wide) and the problems already open, and returns
what to open, what to close and which notices to send:

- a problem found that is not open is opened; it is e-mailed at once (when mail is on);
- an open problem is e-mailed at most once per store-local day while it lasts;
- an open problem that is gone is closed, with a "back to normal" notice when its alert
  was e-mailed;
- with the daily digest option, each administrator gets one digest a day from
  `DIGEST_HOUR` (store time).

Problems: the user must sign in again (R19b: the administrators *and* the user are told),
the user signed in but is not matched to an employee (R20) for `NOT_MATCHED_GRACE`,
the user's cycles failed `FAILING_RUNS` times in a row or for `FAILING_FOR`, and the
store's System Five cannot be read (the last `UNREACHABLE_RUNS` cycles of the store said
so; the users' own "failing" is then not alerted on top: one cause, one alert).

Every notice carries a `dedupe_key`: the outbox refuses a second row with the same key,
so deciding twice never sends twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from s5sync.core.status import FAILING_OUTCOMES
from s5sync.core.timezones import zone

FAILING_RUNS = 3
FAILING_FOR = timedelta(hours=1)
NOT_MATCHED_GRACE = timedelta(hours=1)
UNREACHABLE_RUNS = 2
DIGEST_HOUR = 8
# The cycle's words for R17b's unreadable System Five (cycle.py uses this constant).
SYSTEM_FIVE_UNREADABLE = "System Five could not be read"
STORE = "store"


class Problem(StrEnum):
    NEEDS_SIGN_IN = "needs_sign_in"
    NOT_MATCHED = "not_matched"
    FAILING = "failing"
    SYSTEM_FIVE_UNREACHABLE = "system_five_unreachable"


class NoticeKind(StrEnum):
    ALERT = "alert"
    RECOVERY = "recovery"
    DIGEST = "digest"


@dataclass(frozen=True)
class RunFact:
    """One finished cycle, as far as alerts care."""

    started_at: datetime
    outcome: str
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in FAILING_OUTCOMES

    @property
    def system_five_unreadable(self) -> bool:
        return self.error is not None and SYSTEM_FIVE_UNREADABLE in self.error


@dataclass(frozen=True)
class UserFacts:
    """One user: state and the latest finished cycles, newest first."""

    user_id: int
    email: str
    name: str
    status_words: str
    needs_sign_in: bool = False
    signed_in: bool = True  # False: named by the operator, never signed in
    onboarded: bool = True
    created_at: datetime | None = None
    runs: tuple[RunFact, ...] = ()

    @property
    def subject(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class StoreFacts:
    """What the store knows at `now`."""

    tenant_id: int
    name: str
    time_zone: str
    administrators: tuple[str, ...]  # e-mail addresses
    users: tuple[UserFacts, ...]
    store_runs: tuple[RunFact, ...] = ()  # the store's latest finished cycles, newest first
    digest: bool = False
    mail_enabled: bool = True


@dataclass(frozen=True)
class OpenAlert:
    """A problem open since `opened_at`, last e-mailed on `last_alerted_on`."""

    subject: str
    problem: Problem
    opened_at: datetime
    last_alerted_on: date | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class Notice:
    """One e-mail to one recipient; its words are composed by `s5sync.alerts.messages`."""

    kind: NoticeKind
    recipient: str
    dedupe_key: str
    problem: Problem | None = None
    user: UserFacts | None = None
    since: datetime | None = None
    to_the_user: bool = False  # R19b: the user who must sign in again
    open_alerts: tuple[tuple[str, Problem], ...] = ()  # digest: (who, problem)
    users: tuple[UserFacts, ...] = ()  # digest: every user's state


@dataclass(frozen=True)
class AlertPlan:
    opened: tuple[OpenAlert, ...] = ()
    alerted: tuple[OpenAlert, ...] = ()  # open alerts e-mailed today (new day saved)
    closed: tuple[OpenAlert, ...] = ()
    notices: tuple[Notice, ...] = field(default=())


def user_problem(user: UserFacts, now: datetime, store_unreachable: bool) -> Problem | None:
    """The one problem of a user that needs someone, if any (most urgent first)."""
    if user.needs_sign_in:
        return Problem.NEEDS_SIGN_IN
    if not user.onboarded:
        waited = user.created_at is not None and now - user.created_at >= NOT_MATCHED_GRACE
        return Problem.NOT_MATCHED if user.signed_in and waited else None
    streak: list[RunFact] = []
    for run in user.runs:
        if not run.failed:
            break
        streak.append(run)
    if not streak or store_unreachable:
        return None
    if len(streak) >= FAILING_RUNS or now - streak[-1].started_at >= FAILING_FOR:
        return Problem.FAILING
    return None


def store_unreachable(store: StoreFacts) -> bool:
    latest = store.store_runs[:UNREACHABLE_RUNS]
    return len(latest) == UNREACHABLE_RUNS and all(r.system_five_unreadable for r in latest)


def local_day(now: datetime, time_zone: str) -> date:
    return now.astimezone(zone(time_zone)).date()


def plan_alerts(store: StoreFacts, open_alerts: tuple[OpenAlert, ...], now: datetime) -> AlertPlan:
    """R21d: what to open, e-mail, close and send at `now` (see the module docstring)."""
    today = local_day(now, store.time_zone)
    unreachable = store_unreachable(store)
    found: dict[tuple[str, Problem], UserFacts | None] = {}
    if unreachable:
        found[(STORE, Problem.SYSTEM_FIVE_UNREACHABLE)] = None
    for facts in store.users:
        problem = user_problem(facts, now, unreachable)
        if problem is not None:
            found[(facts.subject, problem)] = facts
    known = {(a.subject, a.problem): a for a in open_alerts}
    opened: list[OpenAlert] = []
    alerted: list[OpenAlert] = []
    closed: list[OpenAlert] = []
    notices: list[Notice] = []
    for key, user in found.items():
        current = known.get(key) or OpenAlert(
            key[0], key[1], now, None, user.user_id if user else None
        )
        if key not in known:
            opened.append(current)
        if not store.mail_enabled or current.last_alerted_on == today:
            continue
        alerted.append(OpenAlert(*key, current.opened_at, today, current.user_id))
        notices += _notices(store, NoticeKind.ALERT, current, user, today.isoformat())
    for key, alert in known.items():
        if key in found:
            continue
        closed.append(alert)
        if store.mail_enabled and alert.last_alerted_on is not None:
            whose = next((u for u in store.users if u.subject == alert.subject), None)
            notices += _notices(
                store, NoticeKind.RECOVERY, alert, whose, alert.opened_at.isoformat()
            )
    if store.digest and store.mail_enabled:
        notices += _digest(store, now, today, found)
    return AlertPlan(tuple(opened), tuple(alerted), tuple(closed), tuple(notices))


def _notices(
    store: StoreFacts, kind: NoticeKind, alert: OpenAlert, user: UserFacts | None, when: str
) -> list[Notice]:
    base = f"{store.tenant_id}:{kind.value}:{alert.subject}:{alert.problem.value}:{when}"
    recipients = [(address, False) for address in store.administrators]
    if alert.problem is Problem.NEEDS_SIGN_IN and kind is NoticeKind.ALERT and user is not None:
        recipients.append((user.email, True))  # R19b: the user is asked to sign in again
    seen: set[str] = set()
    notices = []
    for address, to_user in recipients:
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        notices.append(
            Notice(
                kind,
                address,
                f"{base}:{address.lower()}",
                alert.problem,
                user,
                alert.opened_at,
                to_the_user=to_user,
            )
        )
    return notices


def _digest(
    store: StoreFacts,
    now: datetime,
    today: date,
    found: dict[tuple[str, Problem], UserFacts | None],
) -> list[Notice]:
    if now.astimezone(zone(store.time_zone)).hour < DIGEST_HOUR:
        return []
    problems = tuple(
        (user.email if user is not None else store.name, problem)
        for (_subject, problem), user in sorted(found.items(), key=lambda item: item[0])
    )
    return [
        Notice(
            NoticeKind.DIGEST,
            address,
            f"{store.tenant_id}:digest:{today.isoformat()}:{address.lower()}",
            open_alerts=problems,
            users=store.users,
        )
        for address in store.administrators
    ]
