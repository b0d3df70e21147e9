"""What the dashboard's status pill says (issue 20 items 1–3; R14, R14c, R19b, R20, R23b).

One pill per user state, coloured by what it asks of the employee: green — syncing;
grey — not syncing, on purpose (paused, page closed); amber — something failed and
s5sync tries again by itself ("will retry"); red — it needs you (sign in again, not
matched to a System Five employee). A problem is one plain sentence: what went wrong,
what happens next (in the store's time zone) and what to do, if anything. Graph's 429
and 503 are named as what they are.

`status` is the one user status (`s5sync.core.status.user_status`): active | failing |
paused | held | needs_sign_in | not_onboarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from s5sync.core.records import RunRecord
from s5sync.core.status import what_failed
from s5sync.core.timezones import UnknownTimeZone, utc_to_wall

RETRYING_OUTCOMES = frozenset({"failed", "partial", "throttled"})


@dataclass(frozen=True)
class Pill:
    """The status pill: its colour (green | grey | amber | red), words and problem."""

    colour: str
    words: str
    problem: str | None = None


def clock_time(moment: datetime, zone: str) -> str:
    """A time of day in the store's zone, as staff read it ("21:32"), no zone name."""
    try:
        return f"{utc_to_wall(moment, zone):%H:%M}"
    except UnknownTimeZone:
        return f"{moment:%H:%M}"


def pill(
    status: str,
    last_run: RunRecord | None,
    next_run_at: datetime | None,
    zone: str,
    paused_by: str | None = None,
) -> Pill:
    """The pill for a user's state and their last cycle (`paused_by`: who paused them,
    when it was someone else, R14c)."""
    if status == "needs_sign_in":
        return Pill(
            "red",
            "Sign in again",
            "Microsoft 365 no longer accepts your sign-in, so nothing is synced: "
            "sign in again to resume.",
        )
    if status == "not_onboarded":
        return Pill(
            "red",
            "Not matched yet",
            "You are not matched to a System Five employee yet, so nothing is synced: "
            "ask your store's administrator.",
        )
    if status == "held":
        words = f"Paused by {paused_by}" if paused_by else "Paused"
        return Pill("grey", words, "Paused: nothing is synced until you resume.")
    if status == "paused":
        return Pill(
            "grey",
            "Paused: this page was closed",
            "Sync runs while this page is open; your administrator can keep it running "
            "in the background.",
        )
    failing = status == "failing" or (
        last_run is not None and last_run.outcome in RETRYING_OUTCOMES
    )
    if failing:
        when = f" at {clock_time(next_run_at, zone)}" if next_run_at is not None else " soon"
        return Pill(
            "amber",
            "Will retry",
            f"{what_failed(last_run.error if last_run else None)}; s5sync tries again{when}. "
            "Nothing is lost.",
        )
    return Pill("green", "Sync is on")
