"""When a Graph subscription is renewed (R14b): well before it expires, spread over users.

Pure (STYLE.md habit 1): times and ids in, times out. A subscription is renewed between
50 % and 75 % of its lifetime after it was made or last renewed, at a point fixed by the
user's id (the golden-ratio sequence, as the distributed scheduler spreads cold starts),
so 1,000 subscriptions made in the same minute are renewed over a quarter of their
lifetime (~42 hours for Outlook's 7 days) instead of all at once, and a renewal that
fails is tried again with back-off long before the subscription lapses.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

GOLDEN = (math.sqrt(5) - 1) / 2
EARLIEST = 0.50  # of the lifetime, after the subscription was made or renewed
SPREAD = 0.25  # renewals fall between 50 % and 75 % of the lifetime
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


def phase(user_id: int) -> float:
    """The user's fixed place in [0, 1): consecutive ids land far apart."""
    return (user_id * GOLDEN) % 1.0


def renew_at(granted_at: datetime, expires_at: datetime, user_id: int) -> datetime:
    """When to renew a subscription granted at `granted_at` that lasts until `expires_at`."""
    lifetime = expires_at - granted_at
    return granted_at + lifetime * (EARLIEST + SPREAD * phase(user_id))


def retry_at(now: datetime, expires_at: datetime, failures: int) -> datetime:
    """After `failures` failed renewals in a row: 1, 2, 4 … minutes, at most an hour, and
    never later than halfway to the expiry (so a few more tries fit before it lapses)."""
    wait = min(FIRST_RETRY * 2 ** max(failures - 1, 0), LONGEST_RETRY)
    halfway: datetime = now + max((expires_at - now) / 2, timedelta(0))
    later: datetime = now + wait
    return min(later, halfway)
