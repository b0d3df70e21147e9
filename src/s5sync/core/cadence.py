"""How a user's changes cross, in words (R14, R14b, R19b): the dashboard's `#sync-cadence`
slot and the administrator's one line per user about push on the health page.

Pure (STYLE.md habit 1): the user's status, when their subscription is live until, the
store's intervals and why the deployment cannot push (if it cannot) go in; words come
out. `push_live` is also what the scheduler asks (`sync.engine.periodic_interval`), so
"Live" on the dashboard and the safety-net interval never disagree.

Lines (the health page's column "Status", under the user's state):

- live: "Live: changes cross in seconds; safety sync every 60 minutes", with the renewal
  trouble when the last renewal failed (it stays live until it expires, R14b);
- polling: "Polling every 10 minutes: <why>" — the deployment cannot push
  (`S5SYNC_PUBLIC_URL` unset or unreachable), or the subscription is not made yet;
- not synced at all (R14, R14c, R19b, R20): "No push: <why>"; a user who must sign in
  again is named so (Microsoft refused the sign-in or the calendar subscription).

Table test: tests/unit/core/test_cadence_rules.py.
"""

from __future__ import annotations

from datetime import datetime

from s5sync.core.status import UserStatus

SYNCED = frozenset({UserStatus.ACTIVE, UserStatus.FAILING})
NOT_SYNCED_BECAUSE: dict[UserStatus, str] = {
    UserStatus.NEEDS_SIGN_IN: "must sign in again, nothing is synced until then",
    UserStatus.NOT_ONBOARDED: "not matched to a System Five employee yet",
    UserStatus.HELD: "paused until resumed",
    UserStatus.PAUSED: "no page open and background sync off",
}


def push_live(live_until: datetime | None, now: datetime) -> bool:
    """R14b: the user's Graph subscription is live and healthy at `now`."""
    return live_until is not None and live_until > now


def cadence_words(live_until: datetime | None, interval_minutes: int, now: datetime) -> str:
    """The dashboard's `#sync-cadence`: "Live" while changes arrive by notification,
    else how often the periodic cycle runs (R14: "Every 10 minutes")."""
    if push_live(live_until, now):
        return "Live"
    return f"Every {interval_minutes} minutes"


def push_line(
    status: UserStatus,
    live_until: datetime | None,
    now: datetime,
    *,
    interval_minutes: int,
    safety_minutes: int,
    deployment_off: str | None = None,
    renewal_error: str | None = None,
) -> str:
    """The health page's line about push for one user (R14b, R21)."""
    if status not in SYNCED:
        return f"No push: {NOT_SYNCED_BECAUSE[status]}"
    if push_live(live_until, now):
        safety = max(safety_minutes, interval_minutes)
        line = f"Live: changes cross in seconds; safety sync every {safety} minutes"
        if renewal_error:
            line += f" (renewing the subscription failed, trying again: {renewal_error})"
        return line
    polling = f"Polling every {interval_minutes} minutes"
    if deployment_off:
        return f"{polling}: {deployment_off}"
    if renewal_error:
        return f"{polling}: the calendar subscription could not be made ({renewal_error})"
    return f"{polling}: the calendar subscription is not made yet"
