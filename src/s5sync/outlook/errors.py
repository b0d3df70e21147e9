"""The Outlook connector's errors, one tree (STYLE.md "Errors"):

    OutlookError
    ├── NeedsSignIn        the user's refresh token no longer works (R19b): stop this user only
    ├── SignInFailed       the authorization-code flow did not complete (R19)
    ├── IdentityUnavailable the identity platform could not be reached or answered 5xx
    └── GraphError         Microsoft Graph answered something this cycle cannot get past
        ├── Throttled      429/503 asking for a wait longer than the cycle's patience (R23b)
        ├── GraphUnavailable transient errors (5xx, timeouts) outlasted the retries (R17b)
        ├── GraphRejected  a permanent answer (4xx) to a request that had to succeed
        │   └── MalformedEventId 400 ErrorInvalidIdMalformed: a stored id is damaged
        └── DeadlineReached the cycle's time budget ran out

Messages name what happened so a store's administrator can act; they never carry a
token, a secret, a delta link or an event body (R22).
"""

from __future__ import annotations

from datetime import datetime


class OutlookError(Exception):
    """Anything the Outlook connector cannot get past."""


class NeedsSignIn(OutlookError):
    """R19b: the user must sign in again (revoked, expired or no cached account)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the user must sign in to Microsoft 365 again: {reason}")
        self.reason = reason


class SignInFailed(OutlookError):
    """R19: the sign-in answer was refused (state mismatch, error from the authority)."""


class IdentityUnavailable(OutlookError):
    """The identity platform could not be reached; the next cycle tries again."""


class GraphError(OutlookError):
    """Microsoft Graph answered something this request cannot get past."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


STATUS_NAMES = {429: "429 Too Many Requests", 503: "503 Service Unavailable"}


class Throttled(GraphError):
    """R23b: Graph asked for a wait beyond the cycle's patience; come back at `retry_at`."""

    def __init__(self, retry_at: datetime, *, status: int = 429) -> None:
        # Issue 20 item 3: 429 and 503 are named as what they are (staff pages word them).
        named = STATUS_NAMES.get(status, str(status))
        super().__init__(
            f"Microsoft Graph answered {named} and asked to wait until "
            f"{retry_at:%Y-%m-%d %H:%M:%S} UTC",
            status=status,
            code="throttled",
        )
        self.retry_at = retry_at


class GraphUnavailable(GraphError):
    """Transient errors (5xx, timeouts, dropped connections) outlasted the retries."""


class GraphRejected(GraphError):
    """A permanent refusal (4xx other than the ones a write handles itself)."""


class MalformedEventId(GraphRejected):
    """Graph cannot read an event id we sent (400 `ErrorInvalidIdMalformed`, graph.md §1):
    the id we stored is damaged. Never a deletion (R7b); the mapping row is repaired by
    the task identity the event carries (R16b)."""

    def __init__(self) -> None:
        super().__init__(
            "Microsoft Graph could not read a stored Outlook event id (ErrorInvalidIdMalformed)",
            status=400,
            code=MALFORMED_ID,
        )


MALFORMED_ID = "ErrorInvalidIdMalformed"


class DeadlineReached(GraphError):
    """The cycle's time budget ran out before Graph answered."""
