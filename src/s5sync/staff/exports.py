"""Exports (R18, R21d, issue 21 items 7 and 8): a user's activity and the store's audit
trail as CSV, and everything s5sync holds about one user as JSON (GDPR access request).

Pure formatting over records. Times are written in UTC ISO 8601 and, beside them, in the
store's time zone (what the pages show). A cell that a spreadsheet would run as a
formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'` (OWASP "CSV
injection"): subjects come from Outlook and System Five, typed by anyone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from s5sync.core.records import ActivityRecord, RunRecord, UserRecord
from s5sync.core.timezones import zone
from s5sync.store.audit import AuditRecord

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def _local(moment: datetime, time_zone: str) -> str:
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%d %H:%M:%S")


def activity_csv(lines: Iterable[ActivityRecord], time_zone: str) -> str:
    return _csv(
        ("at_utc", f"at_{time_zone}", "direction", "action", "reason", "task_id", "event_id",
         "subject", "message"),
        (
            (a.at.isoformat(), _local(a.at, time_zone), a.direction, a.action, a.reason or "",
             a.task_id, a.event_id, a.subject, a.message)
            for a in lines
        ),
    )  # fmt: skip


def audit_csv(lines: Iterable[AuditRecord], time_zone: str) -> str:
    return _csv(
        ("at_utc", f"at_{time_zone}", "actor", "actor_kind", "action", "target", "details"),
        (
            (a.at.isoformat(), _local(a.at, time_zone), a.actor, a.actor_kind, a.action.value,
             a.target, a.summary)
            for a in lines
        ),
    )  # fmt: skip


# What a user record holds that is not about the person (and nothing secret is in it:
# the token cache is not a field of `UserRecord`, only whether one exists).
_USER_LEAVE_OUT = frozenset({"session_generation"})


def user_export(
    user: UserRecord,
    store_name: str,
    links: Sequence[dict[str, Any]],
    runs: Sequence[RunRecord],
    activity: Sequence[ActivityRecord],
    audit: Sequence[AuditRecord],
    cached_events: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """GDPR access: everything held about `user`, no secret (R22)."""
    person = {k: v for k, v in asdict(user).items() if k not in _USER_LEAVE_OUT}
    return {
        "store": store_name,
        "user": person,
        "mapping": list(links),
        "cycles": [asdict(r) for r in runs],
        "activity": [asdict(a) for a in activity],
        "audit": [{**asdict(a), "action": a.action.value, "words": a.words} for a in audit],
        "calendar_window_cache": list(cached_events),
        "not_exported": [
            "the Microsoft sign-in token cache (a secret, R22)",
            "the calendar delta link (a secret, R22)",
        ],
    }
