"""A week of renewals for many users on the Microsoft 365 emulator's clock (R14b; issue 19
"Must show": 1,000 users' subscriptions renewed before expiry across a simulated week,
spread out, never all at once).

The real `SubscriptionManager` sweeps hourly through the product's Graph adapter
(`GraphSubscriptions` over a `GraphSession`) against the in-process emulator — its
`/subscriptions` routes, its validation handshake (answered by the product's own
`/graph/notifications` routes) and its clock, which decides expiry (`hub.sweep` removes a
subscription whose time has passed, and warns with `reauthorizationRequired` in its last
hour). The CALENDAREVENT database is SQLite. What is proven, on the emulator's side: no
subscription ever lapses or is warned, each is renewed at least once, and no hour renews
more than `MAX_SHARE` of them.

`S5SYNC_RENEWAL_USERS` sets how many users (default 1,000; CI may set fewer).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from m365emu.app import Emulator, build_emulator
from m365emu.graph.subscriptions.hub import ChangeNotifications
from s5sync.bench.world import add_users
from s5sync.entrypoints.bootstrap import Services
from s5sync.entrypoints.web.graph_routes import install_graph_routes
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.notifications import NotificationIntake
from s5sync.outlook.session import GraphSession
from s5sync.outlook.subscriptions import GraphSubscriptions, SubscriptionGateway
from s5sync.outlook.transport import HttpxTransport
from s5sync.scheduling.upkeep import Push, SubscriptionManager, no_wake
from s5sync.store.subscriptions import SubscriptionRows, Upkeep
from s5sync.testing.graph_emulator import EmulatorTokens, in_process_client, install_graph_api
from support.reliability_stack import FreshTokens

USERS = int(os.environ.get("S5SYNC_RENEWAL_USERS", "1000"))
MS_TENANT = "5eed0000-0000-4000-8000-00000000beef"
URL = "http://s5sync.renewals.test"  # loopback http, as the demo's emulator allows
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
MAX_SHARE = 0.05  # of the users, renewed in any one hour (~2.4 % on average)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    built = build_emulator(None, parts=())
    install_graph_api(built)
    built.clock.set(T0)
    built.plain_http_notifications = True
    built.directory.add_tenant(MS_TENANT, "Renewals")
    try:
        yield built
    finally:
        built.close()


def hub_of(emulator: Emulator) -> ChangeNotifications:
    hub = emulator.notifications
    assert isinstance(hub, ChangeNotifications)
    return hub


async def test_a_week_of_renewals_keeps_every_subscription_and_spreads_them_R14b(
    services: Services, emulator: Emulator
) -> None:
    hub = hub_of(emulator)
    rows = SubscriptionRows(services.db, services.box)
    intake = NotificationIntake(rows.lookup, lambda _user: None, _no_lifecycle, lambda _r: None)
    endpoint = FastAPI()
    install_graph_routes(endpoint, intake)  # the handshake, answered by the product
    hub.transport = httpx.ASGITransport(app=endpoint)
    tenant = await services.directory.create_tenant(
        MS_TENANT,
        "Renewals",
        "sqlite://",
        T0,
        background_sync=True,  # R14: all active
    )
    users = await add_users(services, tenant.id, list(range(1, USERS + 1)), T0)
    for user in users:
        emulator.directory.add_user(MS_TENANT, user.email, user.display_name)
    email_of = {user.object_id: user.email for user in users}

    async with in_process_client(emulator) as http:

        @asynccontextmanager
        async def gateway_for(work: Upkeep) -> AsyncIterator[SubscriptionGateway]:
            tokens = FreshTokens(EmulatorTokens(emulator, email_of[work.object_id]))
            yield GraphSubscriptions(
                GraphSession(HttpxTransport(http), tokens, counter=RequestCounter())
            )

        manager = SubscriptionManager(rows, gateway_for, Push.at(URL), emulator.clock.now, no_wake)
        created = 0
        for _ in range(USERS // 300 + 1):  # a sweep makes at most 300 (`upkeep`'s limit)
            made = await manager.sweep()
            assert made.failed == 0, made
            created += made.created
            emulator.clock.set(emulator.clock.now() + timedelta(seconds=30))  # SWEEP_SECONDS
        assert created == USERS
        first = {s.id: s.expiration for s in hub.book.all()}
        assert len(first) == USERS

        per_hour: list[int] = []
        renewed: set[str] = set()
        for hour in range(1, 7 * 24 + 1):
            now = T0 + timedelta(hours=hour, minutes=5)
            emulator.clock.set(now)
            before = {s.id: s.expiration for s in hub.book.all()}
            report = await manager.sweep()
            assert report.failed == 0, (hour, report)
            hub.sweep(now)  # Graph's side: expired subscriptions go, the last hour warns
            after = {s.id: s.expiration for s in hub.book.all()}
            assert set(after) == set(first), f"hour {hour}: a subscription lapsed or was remade"
            assert all(expiry > now for expiry in after.values())
            changed = [sid for sid in after if after[sid] != before[sid]]
            assert len(changed) == report.renewed, (hour, report)
            renewed.update(changed)
            per_hour.append(len(changed))

    assert renewed == set(first), "every subscription renewed at least once in the week"
    assert max(per_hour) <= max(2, int(USERS * MAX_SHARE)), per_hour  # never all at once
    assert per_hour[: 3 * 24 - 1] == [0] * (3 * 24 - 1), per_hour  # none before half-life
    warned = [d for d in hub.worker.pending() if d.kind == "lifecycle"]
    assert warned == [], "Graph warned of an expiry (reauthorizationRequired)"
    hub.transport = None


async def _no_lifecycle(_event: object) -> None:
    raise AssertionError("no lifecycle notification was expected")
