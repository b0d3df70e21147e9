"""How changes cross, in words (R14, R14b, R19b): the dashboard's `#sync-cadence` and the
health page's push line, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.cadence import cadence_words, push_line, push_live
from s5sync.core.status import UserStatus

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=6)
EARLIER = NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("live_until", "words"),
    [
        (LATER, "Live"),
        (NOW, "Every 10 minutes"),  # expired at this instant: polled again
        (EARLIER, "Every 10 minutes"),
        (None, "Every 10 minutes"),
    ],
)
def test_the_dashboard_says_live_only_while_the_subscription_is_R14b(
    live_until: datetime | None, words: str
) -> None:
    assert cadence_words(live_until, 10, NOW) == words
    assert push_live(live_until, NOW) is (words == "Live")


def test_without_push_the_cadence_is_the_store_interval_R14() -> None:
    assert cadence_words(None, 25, NOW) == "Every 25 minutes"


def line(status: UserStatus, live_until: datetime | None, **extra: str | None) -> str:
    return push_line(status, live_until, NOW, interval_minutes=10, safety_minutes=60, **extra)


@pytest.mark.parametrize(
    ("status", "live_until", "extra", "expected"),
    [
        (
            UserStatus.ACTIVE,
            LATER,
            {},
            "Live: changes cross in seconds; safety sync every 60 minutes",
        ),
        (
            UserStatus.FAILING,
            LATER,
            {"renewal_error": "Microsoft Graph refused to renew the subscription (500 x)"},
            "Live: changes cross in seconds; safety sync every 60 minutes (renewing the "
            "subscription failed, trying again: Microsoft Graph refused to renew the "
            "subscription (500 x))",
        ),
        (
            UserStatus.ACTIVE,
            None,
            {"deployment_off": "S5SYNC_PUBLIC_URL is not set"},
            "Polling every 10 minutes: S5SYNC_PUBLIC_URL is not set",
        ),
        (
            UserStatus.ACTIVE,
            EARLIER,
            {},
            "Polling every 10 minutes: the calendar subscription is not made yet",
        ),
        (
            UserStatus.NEEDS_SIGN_IN,
            None,
            {},
            "No push: must sign in again, nothing is synced until then",
        ),
        # A user not synced at all is never "live", even with a row not yet swept away.
        (UserStatus.PAUSED, LATER, {}, "No push: no page open and background sync off"),
        (UserStatus.HELD, None, {}, "No push: paused until resumed"),
        (UserStatus.NOT_ONBOARDED, None, {}, "No push: not matched to a System Five employee yet"),
    ],
)
def test_the_health_line_says_live_or_polling_and_why_R14b_R19b_R21(
    status: UserStatus, live_until: datetime | None, extra: dict[str, str], expected: str
) -> None:
    assert line(status, live_until, **extra) == expected


def test_the_safety_interval_is_never_shorter_than_the_interval_R14b() -> None:
    text = push_line(UserStatus.ACTIVE, LATER, NOW, interval_minutes=90, safety_minutes=60)
    assert text.endswith("safety sync every 90 minutes")
