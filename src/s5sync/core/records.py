"""The records that cross the ports and the store's boundary: frozen values, never ORM
rows (STYLE.md habit 4).

They are defined here, beside the decisions, not in `s5sync.store`: the cycle's ports
(`sync.ports.CycleStore`, the ports factory) and the web app take them, and the store is
one adapter that builds them from its rows (issue 18: a port is not defined by one of
its adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from s5sync.core.snapshots import StoreOptions


class Outcome(StrEnum):
    """How a cycle ended (R18), stored in `sync_run.outcome` as these values."""

    OK = "ok"
    PARTIAL = "partial"  # something could not be read or written: tried again (R17b, R23)
    BUSY = "busy"  # another cycle of this user holds the lease
    NOT_ONBOARDED = "not_onboarded"  # R20
    NEEDS_SIGN_IN = "needs_sign_in"  # R19b
    THROTTLED = "throttled"  # R23b: Graph asked us to wait
    FAILED = "failed"  # R23: an unexpected error, reported
    # A run whose cycle never finished (killed, or its process lost), closed by the next
    # one to take the user's lease or by the reaper (issue 23 item 6; R18).
    INTERRUPTED = "interrupted"


INTERRUPTED = Outcome.INTERRUPTED
INTERRUPTED_ERROR = "the cycle stopped before it finished (its process was stopped or lost)"


@dataclass(frozen=True)
class TenantRecord:
    """A registered store (R21). The System Five connection is not here: it is a secret,
    read only by the composition root through `Directory.s5_connection`."""

    id: int
    ms_tenant_id: str
    name: str
    options: StoreOptions


@dataclass(frozen=True)
class UserRecord:
    """A member of staff of one store (R19, R20)."""

    id: int
    tenant_id: int
    object_id: str
    email: str
    display_name: str
    employee_id: int | None
    onboarded_at: datetime | None
    is_admin: bool
    status: str
    last_error: str | None
    last_heartbeat_at: datetime | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_outcome: str | None
    sync_now_requested: bool
    has_token_cache: bool
    session_generation: int = 0
    # R14b: the Graph subscription is live and healthy until then; the last change seen.
    push_live_until: datetime | None = None
    last_change_at: datetime | None = None
    # Issue 19: why the subscription could not be made, when it is tried again.
    push_error: str | None = None
    push_retry_at: datetime | None = None
    paused_at: datetime | None = None  # R14c: no cycle runs until resumed
    paused_by: str | None = None
    # R14c: a resync asked for (when, by whom): the next cycle repairs (issue 21 item 2).
    resync_requested_at: datetime | None = None
    resync_requested_by: str | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def onboarded(self) -> bool:
        """R20: matched to a System Five employee and confirmed."""
        return self.onboarded_at is not None and self.employee_id is not None


@dataclass(frozen=True)
class Lease:
    """The right to run one user's cycle; `fence` guards every CALENDAREVENT write."""

    user_id: int
    holder: str
    fence: int
    expires_at: datetime


@dataclass(frozen=True)
class ActivityRecord:
    """One line of the activity log (R18)."""

    id: int
    at: datetime
    direction: str
    action: str
    reason: str | None
    task_id: int | None
    event_id: str | None
    subject: str
    message: str


@dataclass(frozen=True)
class RunRecord:
    """One cycle (R18)."""

    id: int
    user_id: int
    now: datetime
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: dict[str, int]
    graph_requests: dict[str, int]
    error: str | None


@dataclass(frozen=True)
class ActivityEntry:
    """An activity row to write (R18)."""

    direction: str
    action: str
    reason: str | None
    task_id: int | None
    event_id: str | None
    subject: str
    message: str


@dataclass(frozen=True)
class CachedEvent:
    """One row of the window cache: the event's data as our snapshot fields.

    `relevant`: it carries the sync tag or an identity of ours, so a cycle must see it
    even when no link names it (the rules ignore every other unlinked event)."""

    event_id: str
    data: dict[str, Any]
    change_key: str
    server_hash: str
    relevant: bool = True


@dataclass(frozen=True)
class DeltaRecord:
    """The user's delta link, the window it was opened on, and the sync tag the cached
    events' relevance was judged with."""

    delta_link: str | None
    window_start: datetime
    window_end: datetime
    baselined_at: datetime
    relevance_tag: str | None = None
