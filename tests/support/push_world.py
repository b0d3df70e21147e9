"""Push (R14b) test harness: a settable clock and onboarded staff to wake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from s5sync.entrypoints.bootstrap import Services


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def add_user(
    services: Services,
    clock: Clock,
    email: str,
    *,
    employee_id: int = 1,
    heartbeat: bool = True,
    s5_connection: str = "sqlite://",
) -> tuple[int, int]:
    """An onboarded, signed-in member of staff of store "t": (tenant id, user id)."""
    directory = services.directory
    tenant = await directory.find_tenant("t") or await directory.create_tenant(
        "t", "Store", s5_connection, clock()
    )
    async with services.scope(tenant.id).begin() as unit:
        user = await unit.users.signed_in(f"oid-{email}", email, email, clock())
        await unit.users.save_token_cache(user.id, "{}")
        await unit.users.onboard(user.id, employee_id, clock())
        if heartbeat:
            await unit.users.heartbeat(user.id, clock())
        return tenant.id, user.id
