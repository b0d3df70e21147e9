"""A user's status as one table (R14, R14c, R19b, R20, R21): `core.status.user_status`,
the one function behind the dashboard, the health page, alert mails and `/metrics`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.snapshots import StoreOptions
from s5sync.core.status import (
    ATTENTION_ORDER,
    HEARTBEAT_TIMEOUT,
    STATUS_WORDS,
    UserStatus,
    user_status,
)

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@dataclass(frozen=True)
class User:
    status: str = "active"
    paused: bool = False
    onboarded: bool = True
    last_outcome: str | None = "ok"
    last_heartbeat_at: datetime | None = NOW


@dataclass(frozen=True)
class Store:
    options: StoreOptions = field(default_factory=StoreOptions)


BACKGROUND = Store(StoreOptions(background_sync=True))
IDLE = NOW - HEARTBEAT_TIMEOUT - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("user", "store", "expected"),
    [
        (User(), Store(), UserStatus.ACTIVE),
        (User(last_heartbeat_at=NOW - HEARTBEAT_TIMEOUT), Store(), UserStatus.ACTIVE),
        (User(last_heartbeat_at=IDLE), Store(), UserStatus.PAUSED),
        (User(last_heartbeat_at=None), Store(), UserStatus.PAUSED),
        (User(last_heartbeat_at=None), BACKGROUND, UserStatus.ACTIVE),
        (User(last_outcome="failed"), Store(), UserStatus.FAILING),
        (User(last_outcome="partial", last_heartbeat_at=None), BACKGROUND, UserStatus.FAILING),
        (User(last_outcome="failed", last_heartbeat_at=IDLE), Store(), UserStatus.FAILING),
        (User(last_outcome="throttled"), Store(), UserStatus.ACTIVE),
        (User(onboarded=False), Store(), UserStatus.NOT_ONBOARDED),
        (User(onboarded=False, last_outcome="failed"), Store(), UserStatus.NOT_ONBOARDED),
        (User(status="needs_sign_in"), Store(), UserStatus.NEEDS_SIGN_IN),
        (User(status="needs_sign_in", paused=True), Store(), UserStatus.NEEDS_SIGN_IN),
        (User(status="needs_sign_in", onboarded=False), Store(), UserStatus.NEEDS_SIGN_IN),
        (User(paused=True), BACKGROUND, UserStatus.HELD),
        (User(paused=True, last_outcome="failed"), Store(), UserStatus.HELD),
        (User(paused=True, onboarded=False), Store(), UserStatus.HELD),
    ],
)
def test_one_status_per_user_R14_R14c_R19b_R20(
    user: User, store: Store, expected: UserStatus
) -> None:
    assert user_status(user, store, NOW) is expected


def test_the_status_is_stored_nowhere_and_reads_as_its_old_strings() -> None:
    # Templates, metrics labels and tests compare with these strings.
    assert [s.value for s in UserStatus] == [
        "needs_sign_in",
        "failing",
        "not_onboarded",
        "held",
        "paused",
        "active",
    ]
    assert isinstance(UserStatus.ACTIVE, str)
    assert UserStatus("active") is UserStatus.ACTIVE
    assert f"{UserStatus.FAILING}" == "failing"


def test_who_needs_the_administrator_first_R21() -> None:
    ranked = sorted(UserStatus, key=ATTENTION_ORDER.__getitem__)
    assert ranked[:2] == [UserStatus.NEEDS_SIGN_IN, UserStatus.FAILING]
    assert ranked[-1] is UserStatus.ACTIVE
    assert ranked.index(UserStatus.FAILING) < ranked.index(UserStatus.PAUSED)
    assert set(STATUS_WORDS) == set(UserStatus) == set(ATTENTION_ORDER)


def test_a_heartbeat_is_awake_for_two_minutes_R14() -> None:
    assert timedelta(minutes=2) == HEARTBEAT_TIMEOUT
    just = replace(User(), last_heartbeat_at=NOW - timedelta(minutes=2))
    assert user_status(just, Store(), NOW) is UserStatus.ACTIVE
