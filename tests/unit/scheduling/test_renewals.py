"""Renewal times of Graph subscriptions (R14b): well before expiry, spread over users."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from s5sync.outlook.subscriptions import LIFETIME, MAX_LIFETIME
from s5sync.scheduling.renewals import renew_at, retry_at

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("user_id", [1, 2, 3, 17, 999, 123_456])
def test_renewal_falls_between_half_and_three_quarters_of_the_lifetime_R14b(user_id: int) -> None:
    at = renew_at(T0, T0 + LIFETIME, user_id)
    assert T0 + LIFETIME * 0.5 <= at <= T0 + LIFETIME * 0.75


def test_the_lifetime_asked_for_stays_under_outlooks_limit_R14b() -> None:
    assert timedelta(days=6) < LIFETIME < MAX_LIFETIME == timedelta(minutes=10_080)


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (4, timedelta(minutes=8)),
        (12, timedelta(hours=1)),
    ],
)
def test_failed_renewals_back_off_to_at_most_an_hour_R14b(failures: int, wait: timedelta) -> None:
    assert retry_at(T0, T0 + timedelta(days=2), failures) == T0 + wait


def test_a_retry_never_waits_past_halfway_to_expiry_R14b() -> None:
    assert retry_at(T0, T0 + timedelta(minutes=20), 10) == T0 + timedelta(minutes=10)


def test_a_thousand_users_subscribed_at_once_renew_spread_over_a_week_R14b() -> None:
    """1,000 subscriptions made in the same minute, swept hourly for a simulated week:
    none lapses, and no hour renews more than a few percent of them."""
    expires = {user: T0 + LIFETIME for user in range(1, 1001)}
    due = {user: renew_at(T0, expires[user], user) for user in expires}
    per_hour: Counter[int] = Counter()
    for hour in range(1, 7 * 24 + 1):
        now = T0 + timedelta(hours=hour)
        for user, at in due.items():
            assert expires[user] > now, "a subscription lapsed before its renewal"
            if at <= now:
                expires[user] = now + LIFETIME
                due[user] = renew_at(now, expires[user], user)
                per_hour[hour] += 1
    assert sum(per_hour.values()) >= 1000  # everyone renewed at least once in the week
    assert max(per_hour.values()) <= 40  # ~24 an hour on average over the 42-hour spread
