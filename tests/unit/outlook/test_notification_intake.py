"""What `/graph/notifications` and `/graph/lifecycle` accept (R14b, R22): only genuine
notifications of our own subscriptions, each once; everything else changes nothing and
is counted."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from s5sync.outlook.notifications import (
    MAX_BODY,
    Lifecycle,
    NotificationIntake,
    validation_answer,
)
from s5sync.store.subscriptions import SubscriptionKey

KEY = SubscriptionKey(1, "tenant-a", 11, "sub-1", "s3cret-state")
OTHER = SubscriptionKey(2, "tenant-b", 22, "sub-2", "other-state")


class _Counter(Counter[str]):
    def update_one(self, key: str) -> None:
        self[key] += 1


class World:
    def __init__(self) -> None:
        self.counts = _Counter()
        self.changed: list[int] = []
        self.lifecycle: list[Lifecycle] = []
        self.lookups = 0
        self.intake = NotificationIntake(
            self.lookup, self.changed.append, self.on_lifecycle, self.counts.update_one
        )

    async def lookup(self, subscription_id: str) -> SubscriptionKey | None:
        self.lookups += 1
        return {k.subscription_id: k for k in (KEY, OTHER)}.get(subscription_id)

    async def on_lifecycle(self, event: Lifecycle) -> None:
        self.lifecycle.append(event)


@pytest.fixture
def world() -> World:
    return World()


def change(key: SubscriptionKey = KEY, **override: Any) -> dict[str, Any]:
    item = {
        "subscriptionId": key.subscription_id,
        "subscriptionExpirationDateTime": "2026-12-06T11:00:00.0000000Z",
        "clientState": key.client_state,
        "changeType": "updated",
        "resource": "Users/oid/Events/AAMk1",
        "tenantId": key.ms_tenant_id,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": "Users/oid/Events/AAMk1",
            "@odata.etag": 'W/"CQAAABYAAAD1"',
            "id": "AAMk1",
        },
    }
    item.update(override)
    return item


def body(*items: Any) -> bytes:
    return json.dumps({"value": list(items)}).encode()


async def test_a_genuine_notification_records_its_user_changed_R14b(world: World) -> None:
    assert await world.intake.accept(body(change()), lifecycle=False) == 202
    assert world.changed == [11]
    assert world.counts["accepted"] == 1


@pytest.mark.parametrize(
    ("item", "result"),
    [
        (change(clientState="guess"), "forged"),
        (change(clientState=""), "forged"),
        (change(subscriptionId="sub-unknown"), "unknown"),
        (change(tenantId="tenant-b"), "wrong_tenant"),
        (change(OTHER, clientState=KEY.client_state), "forged"),
        (change(clientState=None), "malformed"),
        ("not an object", "malformed"),
    ],
)
async def test_a_forged_unknown_or_foreign_notification_changes_nothing_R14b_R22(
    world: World, item: Any, result: str
) -> None:
    assert await world.intake.accept(body(item), lifecycle=False) == 202
    assert world.changed == []
    assert world.counts[result] == 1


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"value": 3}', "é".encode("latin-1")])
async def test_junk_json_is_refused_R14b(world: World, raw: bytes) -> None:
    assert await world.intake.accept(raw, lifecycle=False) == 400
    assert world.changed == []
    assert world.counts["malformed"] == 1


async def test_an_oversized_body_is_refused_unread_R14b(world: World) -> None:
    assert await world.intake.accept(b" " * (MAX_BODY + 1), lifecycle=False) == 413
    assert world.counts["too_large"] == 1
    assert world.lookups == 0


async def test_a_replayed_or_duplicated_notification_is_taken_once_R14b(world: World) -> None:
    await world.intake.accept(body(change(), change()), lifecycle=False)
    await world.intake.accept(body(change()), lifecycle=False)
    assert world.changed == [11]
    assert world.counts["duplicate"] == 2
    newer = change(resourceData={"@odata.etag": 'W/"CQAAABYAAAD2"', "id": "AAMk1"})
    await world.intake.accept(body(newer), lifecycle=False)
    assert world.changed == [11, 11]  # a new change of the same event is never lost


async def test_lookups_are_cached_so_a_flood_costs_no_reads_R14b(world: World) -> None:
    for _ in range(50):
        await world.intake.accept(body(change(subscriptionId="sub-unknown")), lifecycle=False)
    await world.intake.accept(body(*[change(clientState="x")] * 50), lifecycle=False)
    assert world.lookups == 2


async def test_lifecycle_events_are_handed_on_with_their_subscription_R14b(world: World) -> None:
    items = [
        {k: v for k, v in change().items() if k in ("subscriptionId", "clientState", "tenantId")}
        | {"lifecycleEvent": event}
        for event in ("reauthorizationRequired", "subscriptionRemoved", "missed", "bogus")
    ]
    assert await world.intake.accept(body(*items), lifecycle=True) == 202
    assert [e.event for e in world.lifecycle] == [
        "reauthorizationRequired",
        "subscriptionRemoved",
        "missed",
    ]
    assert all(e.key == KEY for e in world.lifecycle)
    assert world.counts["malformed"] == 1
    assert world.changed == []


def test_the_validation_answer_is_the_token_alone_R14b() -> None:
    assert validation_answer("Validation: Testing client application") == (
        "Validation: Testing client application"
    )
    html = "<script>alert(1)</script>"
    assert validation_answer(html) == html  # returned as text/plain by the route
    assert validation_answer("") is None
    assert validation_answer("a\nb") is None
    assert validation_answer("x" * 5000) is None


def test_the_rate_bound_refuses_past_its_burst_R14b() -> None:
    clock = [0.0]
    counts: Counter[str] = Counter()

    async def nothing(_: Any) -> None:
        return None

    intake = NotificationIntake(
        nothing,
        lambda _u: None,
        nothing,
        lambda r: counts.update([r]),
        monotonic=lambda: clock[0],
        rate=10,
    )
    assert sum(intake.admit() for _ in range(20)) == 10
    clock[0] += 0.5
    assert sum(intake.admit() for _ in range(20)) == 5
    assert counts["rate_limited"] == 25


async def test_concurrent_notifications_of_an_uncached_subscription_share_one_read_R14b() -> None:
    """A burst for a subscription whose key is not cached (a cold start, or a minute
    later) waits on one read, not one read each."""
    reads = 0
    release = asyncio.Event()

    async def slow_lookup(subscription_id: str) -> SubscriptionKey | None:
        nonlocal reads
        reads += 1
        await release.wait()
        return KEY if subscription_id == KEY.subscription_id else None

    changed: list[int] = []

    async def no_lifecycle(_event: Lifecycle) -> None:
        return None

    intake = NotificationIntake(slow_lookup, changed.append, no_lifecycle, lambda _r: None)
    answers = [
        asyncio.ensure_future(intake.accept(body(change(resourceData={})), lifecycle=False))
        for _ in range(20)
    ]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*answers) == [202] * 20
    assert reads == 1
    assert changed == [KEY.user_id] * 20  # no etag: none treated as repeated
