"""How changes cross, in words (R14, R14b, R19b): the dashboard's `#sync-cadence` and the
health page's push line, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.cadence import (
    cadence_words,
    push_line,
    push_live,
    retry_words,
    subscription_problem,
)
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
    return push_line(
        status,
        live_until,
        NOW,
        interval_minutes=10,
        safety_minutes=60,
        deployment_off=extra.get("deployment_off"),
        renewal_error=extra.get("renewal_error"),
    )


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


REFUSED = "Microsoft Graph answered 403: Forbidden"


def test_a_subscription_that_could_not_be_made_says_why_and_when_again_R14b_R21() -> None:
    """Issue 19 item 4: the health page and the dashboard say why (in plain words, with
    Graph's own answer on the health page) and when the manager tries again."""
    in_five = NOW + timedelta(minutes=5)
    health = push_line(
        UserStatus.ACTIVE,
        None,
        NOW,
        interval_minutes=10,
        safety_minutes=60,
        renewal_error=REFUSED,
        retry_at=in_five,
    )
    assert health == (
        "Polling every 10 minutes: the calendar subscription could not be made (Microsoft "
        "refused s5sync access to the calendar's notifications; trying again in 5 minutes; "
        f"Microsoft said: {REFUSED})"
    )
    dashboard = cadence_words(None, 10, NOW, push_error=REFUSED, retry_at=in_five)
    assert dashboard == (
        "Every 10 minutes (live updates could not be set up: Microsoft refused s5sync "
        "access to the calendar's notifications; trying again in 5 minutes)"
    )
    # Live again: the old failure is not shown (saved() clears it too).
    assert cadence_words(LATER, 10, NOW, push_error=REFUSED, retry_at=in_five) == "Live"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("Graph answered 429: Too Many Requests", "Outlook asked s5sync to slow down"),
        ("Graph answered 503: Service Unavailable", "Outlook was not available"),
        ("Graph answered 400: Bad Request", "Microsoft Graph refused the subscription request"),
        ("ConnectionResetError", "Outlook did not answer"),
        (
            "notification URL unreachable: validation failed",
            "Microsoft Graph could not reach s5sync's notification address",
        ),
    ],
)
def test_graph_refusals_in_plain_words_R21(error: str, words: str) -> None:
    assert subscription_problem(error) == words


def test_the_retry_is_said_as_a_duration_R21() -> None:
    assert retry_words(NOW + timedelta(seconds=50), NOW) == "trying again in 1 minute"
    assert retry_words(NOW + timedelta(minutes=30), NOW) == "trying again in 30 minutes"
    assert retry_words(EARLIER, NOW) == "trying again at the next check"
    assert retry_words(None, NOW) == "trying again at the next check"
