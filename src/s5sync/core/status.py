"""A user's sync status, decided once (R14, R14c, R19b, R20, R21).

The dashboard (`staff.accounts`), the health page (`staff.administration`), the alert
mails and `/metrics` all call `user_status`, so they name the same state for the same
user at the same moment. `HEARTBEAT_TIMEOUT` is R14's "no page open" and is also what
the scheduler's due query (`store.directory`) reads.

Table test: tests/unit/core/test_status_rules.py; the dashboard and the health page agree:
tests/integration/staff/test_status_agreement.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from s5sync.core.snapshots import StoreOptions

HEARTBEAT_TIMEOUT = timedelta(minutes=2)  # R14: no heartbeat for 2 minutes = no page open
FAILING_OUTCOMES = frozenset({"failed", "partial"})  # a cycle outcome that needs a look


class UserStatus(StrEnum):
    """A user's state, stored nowhere: computed from the user's row when shown."""

    NEEDS_SIGN_IN = "needs_sign_in"  # R19b: Microsoft refused the refresh token
    FAILING = "failing"  # the last cycle failed or finished only partly
    NOT_ONBOARDED = "not_onboarded"  # R20: signed in, no System Five employee yet
    HELD = "held"  # R14c: paused on purpose, until resumed
    PAUSED = "paused"  # R14: no page open and background sync off
    ACTIVE = "active"


# The health page's order, "who needs you first" (R21, R19b): the states an administrator
# can act on above those that run by themselves.
ATTENTION_ORDER: dict[UserStatus, int] = {
    status: rank
    for rank, status in enumerate(
        (
            UserStatus.NEEDS_SIGN_IN,
            UserStatus.FAILING,
            UserStatus.NOT_ONBOARDED,
            UserStatus.HELD,
            UserStatus.PAUSED,
            UserStatus.ACTIVE,
        )
    )
}
STATUS_WORDS: dict[UserStatus, str] = {
    UserStatus.NEEDS_SIGN_IN: "Needs to sign in again",
    UserStatus.FAILING: "Failing",
    UserStatus.NOT_ONBOARDED: "Not onboarded",
    UserStatus.HELD: "Paused (until resumed)",
    UserStatus.PAUSED: "Paused (no page open)",
    UserStatus.ACTIVE: "Active",
}


class UserState(Protocol):
    """What the status reads of a user (`core.records.UserRecord` has it)."""

    @property
    def status(self) -> str: ...
    @property
    def paused(self) -> bool: ...
    @property
    def onboarded(self) -> bool: ...
    @property
    def last_outcome(self) -> str | None: ...
    @property
    def last_heartbeat_at(self) -> datetime | None: ...


class StoreState(Protocol):
    """What the status reads of a store (`core.records.TenantRecord` has it)."""

    @property
    def options(self) -> StoreOptions: ...


def user_status(user: UserState, store: StoreState, now: datetime) -> UserStatus:
    """R19b first (nothing runs until the user signs in again), then R14c (paused on
    purpose), R20 (not onboarded), a failing last cycle, and R14: active while a page
    sent a heartbeat within `HEARTBEAT_TIMEOUT` or the store syncs in the background."""
    if user.status == UserStatus.NEEDS_SIGN_IN:
        return UserStatus.NEEDS_SIGN_IN
    if user.paused:
        return UserStatus.HELD
    if not user.onboarded:
        return UserStatus.NOT_ONBOARDED
    if user.last_outcome in FAILING_OUTCOMES:
        return UserStatus.FAILING
    background = store.options.background_sync
    return UserStatus.ACTIVE if background or awake(user, now) else UserStatus.PAUSED


def awake(user: UserState, now: datetime) -> bool:
    """R14: a page of the user's sent a heartbeat within the last two minutes."""
    heartbeat = user.last_heartbeat_at
    return heartbeat is not None and heartbeat >= now - HEARTBEAT_TIMEOUT


def what_failed(error: str | None) -> str:
    """The cause of a failed sync in plain words (Graph's 429 and 503 named)."""
    text = (error or "").casefold()
    if "429" in text or "too many requests" in text:
        return "Outlook asked s5sync to slow down (429 Too Many Requests)"
    if "503" in text or "service unavailable" in text:
        return "Outlook was not available (503 Service Unavailable)"
    if "system five" in text:
        return "System Five did not answer"
    if "outlook" in text or "graph" in text:
        return "Outlook did not answer"
    return "The last sync did not finish"
