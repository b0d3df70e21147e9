"""The subscription manager (R14b, R19b) on a real SQLite CALENDAREVENT database and the
in-memory Graph subscriptions fake: who gets a subscription, renewals, removals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from s5sync.core.cadence import cadence_words
from s5sync.core.records import UserRecord
from s5sync.entrypoints.bootstrap import Services
from s5sync.outlook.subscriptions import SubscriptionGateway
from s5sync.scheduling.upkeep import (
    CREATE_RETRY,
    RETRY_UNREACHABLE,
    Push,
    SubscriptionManager,
)
from s5sync.store.subscriptions import SubscriptionRows, Upkeep
from s5sync.testing.subscriptions import FakeSubscriptionService
from support.push_world import Clock, add_user


class World:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.clock = Clock()
        self.later = self.clock.later
        self.graph = FakeSubscriptionService(self.clock)
        self.rows = SubscriptionRows(services.db, services.box)
        self.woken: list[int] = []
        self.manager = SubscriptionManager(
            self.rows, self.gateway_for, Push.at("https://s5sync.example"), self.clock, self.wake
        )
        self.tenant_id = 0

    @asynccontextmanager
    async def gateway_for(self, work: Upkeep) -> AsyncIterator[SubscriptionGateway]:
        yield self.graph.gateway(work.object_id)

    async def wake(self, users: list[int]) -> None:
        self.woken.extend(users)

    async def user(self, email: str, *, heartbeat: bool = True) -> int:
        self.tenant_id, user_id = await add_user(
            self.services, self.clock, email, heartbeat=heartbeat
        )
        return user_id

    async def heartbeat(self, user_id: int) -> None:
        async with self.services.scope(self.tenant_id).begin() as unit:
            await unit.users.heartbeat(user_id, self.clock())

    async def record(self, user_id: int) -> UserRecord:
        async with self.services.scope(self.tenant_id).begin(write=False) as unit:
            return await unit.users.get(user_id)


@pytest.fixture
def world(services: Services) -> World:
    return World(services)


async def test_an_active_user_gets_one_subscription_and_a_catch_up_cycle_R14b(
    world: World,
) -> None:
    alice = await world.user("alice@example.com")
    await world.user("idle@example.com", heartbeat=False)
    report = await world.manager.sweep()
    assert report.created == 1
    assert [s.object_id for s in world.graph.subscriptions.values()] == ["oid-alice@example.com"]
    assert world.woken == [alice]
    sub = next(iter(world.graph.subscriptions.values()))
    assert sub.request.notification_url == "https://s5sync.example/graph/notifications"
    assert sub.request.lifecycle_url == "https://s5sync.example/graph/lifecycle"
    key = await world.rows.lookup(sub.id)
    assert key is not None
    assert key.client_state == sub.request.client_state  # sealed in the row, opened here
    assert len(key.client_state) >= 32
    again = await world.manager.sweep()
    assert again.created == 0
    assert len(world.graph.subscriptions) == 1
    user = await world.record(alice)
    assert user.push_live_until == sub.expires_at  # the poll is the safety net


async def test_secrets_are_per_subscription_and_sealed_at_rest_R22(world: World) -> None:
    await world.user("alice@example.com")
    await world.user("bob@example.com")
    await world.manager.sweep()
    states = {s.request.client_state for s in world.graph.subscriptions.values()}
    assert len(states) == 2
    async with world.services.db.connection() as conn:
        from sqlalchemy import text

        raw = b"".join(
            row[0]
            for row in await conn.execute(text("SELECT client_state_enc FROM graph_subscription"))
        )
    assert not any(state.encode() in raw for state in states)


async def test_renewal_comes_well_before_expiry_and_keeps_the_subscription_R14b(
    world: World,
) -> None:
    alice = await world.user("alice@example.com")
    await world.manager.sweep()
    sub = next(iter(world.graph.subscriptions.values()))
    first_expiry = sub.expires_at
    for _hour in range(7 * 24):
        world.later(hours=1)
        await world.heartbeat(alice)
        await world.manager.sweep()
        world.graph.expire()
        assert sub.id in world.graph.subscriptions, "the subscription lapsed"
    renewals = [c for c in world.graph.calls if c[0] == "renew"]
    assert 1 <= len(renewals) <= 2
    assert sub.expires_at > first_expiry


async def test_a_subscription_graph_removed_is_made_again_R14b(world: World) -> None:
    await world.user("alice@example.com")
    await world.manager.sweep()
    old = next(iter(world.graph.subscriptions))
    world.graph.remove(old)
    key = await world.rows.lookup(old)
    assert key is not None
    await world.rows.renew_soon(key.tenant_id, key.user_id, world.clock())
    await world.manager.sweep()  # the renewal finds it gone: the row goes
    await world.manager.sweep()  # and a new one is made
    assert len(world.graph.subscriptions) == 1
    assert old not in world.graph.subscriptions
    assert await world.rows.lookup(old) is None
    assert (await world.record(key.user_id)).push_live_until is not None


async def test_a_revoked_user_is_asked_to_sign_in_and_nobody_else_is_touched_R19b(
    world: World,
) -> None:
    alice = await world.user("alice@example.com")
    bob = await world.user("bob@example.com")
    await world.manager.sweep()
    world.graph.revoked.add("oid-alice@example.com")
    alice_sub = next(s for s in world.graph.subscriptions.values() if "alice" in s.object_id)
    key = await world.rows.lookup(alice_sub.id)
    assert key is not None
    await world.rows.renew_soon(key.tenant_id, alice, world.clock())
    await world.manager.sweep()
    assert (await world.record(alice)).status == "needs_sign_in"
    assert (await world.record(bob)).status == "active"
    assert await world.rows.lookup(alice_sub.id) is None
    bob_sub = next(s for s in world.graph.subscriptions.values() if "bob" in s.object_id)
    assert await world.rows.lookup(bob_sub.id) is not None
    await world.manager.sweep()
    assert len(world.graph.subscriptions) == 2  # nothing made for alice again


async def test_a_user_idle_for_a_day_loses_the_subscription_R14_R14b(world: World) -> None:
    await world.user("alice@example.com")
    await world.manager.sweep()
    world.later(hours=23)
    await world.manager.sweep()
    assert len(world.graph.subscriptions) == 1
    world.later(hours=1, minutes=3)
    report = await world.manager.sweep()
    assert report.deleted == 1
    assert world.graph.subscriptions == {}
    async with world.services.scope(world.tenant_id).begin(write=False) as unit:
        users = await unit.users.all()
    assert all(u.push_live_until is None for u in users)


async def test_an_unmapped_user_loses_the_subscription_R14b_R20(world: World) -> None:
    alice = await world.user("alice@example.com")
    await world.manager.sweep()
    async with world.services.scope(world.tenant_id).begin() as unit:
        await unit.users.unmap(alice)
    await world.manager.sweep()
    assert world.graph.subscriptions == {}


async def test_without_a_reachable_public_url_nothing_is_subscribed_R14b(world: World) -> None:
    alice = await world.user("alice@example.com")
    world.graph.unreachable = True
    await world.manager.sweep()
    assert world.graph.subscriptions == {}
    assert "Polling every interval" in world.manager.status
    # Said for the user too (a worker met it: the web process's health page reads this).
    trouble = (await world.rows.troubles(world.tenant_id))[alice]
    assert trouble.error.startswith("notification URL unreachable")
    assert trouble.retry_at == world.clock() + RETRY_UNREACHABLE
    off = SubscriptionManager(
        world.rows,
        world.gateway_for,
        Push.off("S5SYNC_PUBLIC_URL is not set"),
        world.clock,
        world.wake,
    )
    await off.sweep()
    assert world.graph.subscriptions == {}
    assert "S5SYNC_PUBLIC_URL is not set" in off.status


async def test_changes_wake_only_active_users_R14(world: World) -> None:
    alice = await world.user("alice@example.com")
    idle = await world.user("idle@example.com", heartbeat=False)
    assert await world.rows.note_changes([alice, idle, alice], world.clock()) == [alice]
    assert (await world.record(alice)).sync_now_requested is True
    assert (await world.record(idle)).sync_now_requested is False


async def test_a_refused_creation_is_recorded_with_its_retry_and_said_R14b_R21(
    world: World,
) -> None:
    """Issue 19 item 4: no row is made when Graph refuses, so the failure is kept on the
    user — the health page and the dashboard say why and when it is tried again, and no
    sweep (of any worker) tries before then."""
    alice = await world.user("alice@example.com")
    world.graph.refusing.add("oid-alice@example.com")
    report = await world.manager.sweep()
    assert report.failed == 1
    assert world.graph.subscriptions == {}
    troubles = await world.rows.troubles(world.tenant_id)
    assert troubles[alice].renewal is False
    assert "403" in troubles[alice].error
    assert troubles[alice].retry_at == world.clock() + CREATE_RETRY
    record = await world.record(alice)
    assert record.push_error is not None
    dashboard = cadence_words(
        record.push_live_until,
        10,
        world.clock(),
        push_error=record.push_error,
        retry_at=record.push_retry_at,
    )
    assert "could not be set up: Microsoft refused" in dashboard
    assert "trying again in 5 minutes" in dashboard

    creates = len([c for c in world.graph.calls if c[0] == "create"])
    await world.manager.sweep()  # before the retry time: not tried
    assert len([c for c in world.graph.calls if c[0] == "create"]) == creates

    world.graph.refusing.clear()
    world.later(seconds=CREATE_RETRY.total_seconds())
    await world.heartbeat(alice)  # her dashboard is still open (R14)
    assert (await world.manager.sweep()).created == 1
    assert await world.rows.troubles(world.tenant_id) == {}
    record = await world.record(alice)
    assert record.push_error is None
    assert record.push_retry_at is None
    assert record.push_live_until is not None
