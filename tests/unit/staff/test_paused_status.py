"""A paused user's state (R14c) as the health page and the dashboard name it: paused on
purpose ("held") comes after "must sign in again" and before everything else."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.snapshots import StoreOptions
from s5sync.core.status import ATTENTION_ORDER, user_status

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
TENANT = TenantRecord(1, "ms", "Contoso", StoreOptions())
USER = UserRecord(
    id=1, tenant_id=1, object_id="oid", email="bob@contoso.test", display_name="Bob",
    employee_id=4, onboarded_at=NOW - timedelta(days=1), is_admin=False, status="active",
    last_error=None, last_heartbeat_at=NOW, next_run_at=None, last_run_at=None,
    last_outcome="ok", sync_now_requested=False, has_token_cache=True,
)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "active"),
        ({"paused_at": NOW}, "held"),
        ({"paused_at": NOW, "last_outcome": "failed"}, "held"),
        ({"paused_at": NOW, "status": "needs_sign_in"}, "needs_sign_in"),
        ({"paused_at": NOW, "onboarded_at": None}, "held"),
    ],
)
def test_a_paused_users_status_R14c(changes: dict[str, object], expected: str) -> None:
    assert user_status(replace(USER, **changes), TENANT, NOW) == expected  # type: ignore[arg-type]
    assert expected in ATTENTION_ORDER
