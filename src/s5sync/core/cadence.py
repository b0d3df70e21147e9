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
  (`S5SYNC_PUBLIC_URL` unset or unreachable), the subscription could not be made (why
  in plain words, when it is tried again, and Graph's answer), or is not made yet;
- not synced at all (R14, R14c, R19b, R20): "No push: <why>"; a user who must sign in
  again is named so (Microsoft refused the sign-in or the calendar subscription).

Table test: tests/unit/core/test_cadence_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from s5sync.core.status import UserStatus

SYNCED = frozenset({UserStatus.ACTIVE, UserStatus.FAILING})
NOT_SYNCED_BECAUSE: dict[UserStatus, str] = {
    UserStatus.NEEDS_SIGN_IN: "must sign in again, nothing is synced until then",
    UserStatus.NOT_ONBOARDED: "not matched to a System Five employee yet",
    UserStatus.HELD: "paused until resumed",
    UserStatus.PAUSED: "no page open and background sync off",
}


@dataclass(frozen=True)
class Trouble:
    """Why a user's push is not as it should be (store/subscriptions.py reads it)."""

    error: str  # Graph's answer as the manager recorded it (worded below)
    retry_at: datetime | None  # when the manager tries again
    renewal: bool  # a renewal failed (still live until expiry), else none could be made


def push_live(live_until: datetime | None, now: datetime) -> bool:
    """R14b: the user's Graph subscription is live and healthy at `now`."""
    return live_until is not None and live_until > now


def cadence_words(
    live_until: datetime | None,
    interval_minutes: int,
    now: datetime,
    *,
    push_error: str | None = None,
    retry_at: datetime | None = None,
) -> str:
    """The dashboard's `#sync-cadence`: "Live" while changes arrive by notification,
    else how often the periodic cycle runs (R14: "Every 10 minutes") — and, when the
    calendar subscription could not be made, why and when it is tried again."""
    if push_live(live_until, now):
        return "Live"
    every = f"Every {interval_minutes} minutes"
    if push_error:
        return f"{every} (live updates could not be set up: {_not_made(push_error, retry_at, now)})"
    return every


def subscription_problem(error: str) -> str:
    """Graph's refusal of a subscription in plain words (the raw answer stays in the row)."""
    text = error.casefold()
    if "unreachable" in text:
        return "Microsoft Graph could not reach s5sync's notification address"
    if "429" in text or "too many requests" in text:
        return "Outlook asked s5sync to slow down"
    if "401" in text or "403" in text or "forbidden" in text or "unauthorized" in text:
        return "Microsoft refused s5sync access to the calendar's notifications"
    if "503" in text or "service unavailable" in text or "timed out" in text:
        return "Outlook was not available"
    if "400" in text or "bad request" in text:
        return "Microsoft Graph refused the subscription request"
    return "Outlook did not answer"


def retry_words(retry_at: datetime | None, now: datetime) -> str:
    """When the manager tries again, as a duration from `now`."""
    if retry_at is None or retry_at <= now:
        return "trying again at the next check"
    minutes = max(1, round((retry_at - now).total_seconds() / 60))
    return f"trying again in {minutes} minute{'s' if minutes != 1 else ''}"


def _not_made(error: str, retry_at: datetime | None, now: datetime) -> str:
    return f"{subscription_problem(error)}; {retry_words(retry_at, now)}"


def push_line(
    status: UserStatus,
    live_until: datetime | None,
    now: datetime,
    *,
    interval_minutes: int,
    safety_minutes: int,
    deployment_off: str | None = None,
    renewal_error: str | None = None,
    retry_at: datetime | None = None,
) -> str:
    """The health page's line about push for one user (R14b, R21); `retry_at`: when a
    subscription that could not be made is tried again."""
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
        return (
            f"{polling}: the calendar subscription could not be made "
            f"({_not_made(renewal_error, retry_at, now)}; Microsoft said: {renewal_error})"
        )
    return f"{polling}: the calendar subscription is not made yet"
