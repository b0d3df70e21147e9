"""Change notifications delivered by the emulator (issue 19 item 1): one
changeNotificationCollection per change, retried with back-off on the emulator's clock,
the delivery faults, lifecycle notifications and expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from m365emu.faults import Fault, FaultKind
from support.graph_harness import ALICE, TENANT
from support.notification_harness import NOTIFY_URL, Notified


async def test_created_updated_deleted_each_notify_with_the_documented_shape_R14b(
    notified: Notified,
) -> None:
    subscription = await notified.subscribe()
    event = await notified.create_event()
    path = f"/me/events/{event['id']}"
    await notified.client.patch(path, json={"subject": "Later"}, headers=notified.headers())
    await notified.client.delete(path, headers=notified.headers())
    await notified.delivered(3)
    items = notified.subscriber.items()
    assert [i["changeType"] for i in items] == ["created", "updated", "deleted"]
    created = items[0]
    assert created["subscriptionId"] == subscription["id"]
    assert created["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
    assert created["clientState"] == "s3cret-state"
    assert created["tenantId"] == TENANT
    assert created["resource"] == f"Users/{ALICE}/Events/{event['id']}"
    assert created["resourceData"] == {
        "@odata.type": "#Microsoft.Graph.Event",
        "@odata.id": f"Users/{ALICE}/Events/{event['id']}",
        "@odata.etag": event["@odata.etag"],
        "id": event["id"],
    }
    assert "@odata.etag" not in items[2]["resourceData"]  # nothing left to tag
    assert len({i["id"] for i in items}) == 3


async def test_only_the_subscribed_change_types_notify_R14b(notified: Notified) -> None:
    await notified.subscribe(changeType="deleted")
    event = await notified.create_event()
    await notified.client.delete(f"/me/events/{event['id']}", headers=notified.headers())
    await notified.delivered(1)
    assert [i["changeType"] for i in notified.subscriber.items()] == ["deleted"]


async def test_batch_changes_notify_like_direct_calls_R14b(notified: Notified) -> None:
    await notified.subscribe()
    event = {
        "subject": "In a batch",
        "start": {"dateTime": "2026-12-03T12:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-03T13:00:00", "timeZone": "UTC"},
    }
    batch = {
        "requests": [
            {
                "id": str(n),
                "method": "POST",
                "url": "/me/events",
                "body": event,
                "headers": {"Content-Type": "application/json"},
            }
            for n in (1, 2)
        ]
    }
    answer = await notified.client.post("/$batch", json=batch, headers=notified.headers())
    assert answer.status_code == 200
    await notified.delivered(2)
    assert [i["changeType"] for i in notified.subscriber.items()] == ["created", "created"]


async def test_other_mailboxes_changes_do_not_notify_R19(notified: Notified) -> None:
    await notified.subscribe()
    bob = notified.verifier.issue(TENANT, "bbbbbbbb-0000-0000-0000-000000000002", "bob@x.test")
    event = {
        "subject": "Bob's",
        "start": {"dateTime": "2026-12-03T12:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-03T13:00:00", "timeZone": "UTC"},
    }
    await notified.client.post("/me/events", json=event, headers=notified.headers(bob))
    await notified.create_event()
    await notified.delivered(1)
    assert len(notified.subscriber.items()) == 1


async def test_a_failing_endpoint_is_retried_with_back_off_on_the_clock_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe(lifecycleNotificationUrl=None)
    notified.subscriber.failures = 2
    await notified.create_event()
    await notified.delivered(1)
    assert len(notified.subscriber.received) == 1
    notified.advance(timedelta(seconds=59))
    await notified.settle()
    assert len(notified.subscriber.received) == 1  # the first retry waits a minute
    notified.advance(timedelta(seconds=1))
    await notified.delivered(2)
    notified.advance(timedelta(minutes=1))
    await notified.settle()
    assert len(notified.subscriber.received) == 2  # then two minutes
    notified.advance(timedelta(minutes=1))
    await notified.delivered(3)
    [delivery] = [d for d in notified.hub.worker.history if d.kind == "change"]
    assert delivery.answers == ["503", "503", "202"]
    assert str(delivery.outcome) == "delivered"


async def test_after_4_hours_of_failures_the_change_is_discarded_and_missed_sent_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe()
    notified.subscriber.failures = 1000
    await notified.create_event()
    await notified.delivered(1)
    for _ in range(30):  # retries at most 10 minutes apart, for 4 hours
        notified.advance(timedelta(minutes=10))
        await notified.settle()
    changes = [d for d in notified.hub.worker.history if d.kind == "change"]
    assert [str(d.outcome) for d in changes] == ["discarded"]
    assert 10 < changes[0].attempts < 40
    notified.subscriber.failures = 0
    await notified.delivered(1, "graph/lifecycle")
    assert "missed" in notified.subscriber.lifecycle()


async def test_drop_fault_loses_one_notification_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("POST", "*/graph/notifications", FaultKind.DROP))
    await notified.create_event("Lost")
    await notified.create_event("Kept")
    await notified.delivered(1)
    await notified.settle()
    assert len(notified.subscriber.items()) == 1
    assert notified.hub.worker.outcomes["dropped"] == 1


async def test_a_delivery_fault_matches_the_notification_urls_path_part_R14b(
    notified: Notified,
) -> None:
    """SPEC "Microsoft 365 emulator": delivery faults through `faults`; a fault armed
    with the endpoint's path (as the product's routes name it) fires on its URL."""
    await notified.subscribe()
    notified.faults.add(Fault("POST", "/graph/lifecycle", FaultKind.DROP))  # not this URL
    notified.faults.add(Fault("POST", "/graph/notifications", FaultKind.DROP))
    await notified.create_event("Lost")
    await notified.create_event("Kept")
    await notified.delivered(1)
    await notified.settle()
    assert [i["changeType"] for i in notified.subscriber.items()] == ["created"]
    assert notified.hub.worker.outcomes["dropped"] == 1
    assert len(notified.subscriber.items()) == 1
    # The whole URL, exactly or as a glob, still matches; so does the path without "/".
    notified.faults.add(Fault("POST", NOTIFY_URL, FaultKind.DROP))
    notified.faults.add(Fault("POST", "https://subscriber.test/*", FaultKind.DROP))
    notified.faults.add(Fault("POST", "graph/notifications", FaultKind.DROP))
    for subject in ("Lost 2", "Lost 3", "Lost 4", "Kept 2"):
        await notified.create_event(subject)
    await notified.delivered(2)
    await notified.settle()
    assert len(notified.subscriber.items()) == 2
    assert notified.hub.worker.outcomes["dropped"] == 4


async def test_a_delivery_fault_on_another_path_does_not_fire_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("POST", "/other/notifications", FaultKind.DROP))
    notified.faults.add(Fault("POST", "https://elsewhere.test/*", FaultKind.DROP))
    await notified.create_event()
    await notified.delivered(1)
    assert notified.hub.worker.outcomes.get("dropped", 0) == 0


async def test_duplicate_fault_sends_the_same_notification_twice_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("*", "*", FaultKind.DUPLICATE))
    await notified.create_event()
    await notified.delivered(2)
    first, second = notified.subscriber.items()
    assert first == second


async def test_delay_fault_holds_a_notification_back_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("POST", "*", FaultKind.DELAY, delay_seconds=0.3))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await notified.create_event()
    await notified.delivered(1)
    assert loop.time() - started >= 0.3


async def test_reorder_fault_sends_a_notification_after_the_next_one_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("POST", "*", FaultKind.REORDER))
    first = await notified.create_event("First")
    await asyncio.sleep(0.1)  # the first is held back
    second = await notified.create_event("Second")
    await notified.delivered(2)
    ids = [i["resourceData"]["id"] for i in notified.subscriber.items()]
    assert ids == [second["id"], first["id"]]


async def test_reject_fault_counts_a_2xx_as_failed_and_retries_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("POST", "*", FaultKind.REJECT))
    await notified.create_event()
    await notified.delivered(1)
    notified.advance(timedelta(minutes=1))
    await notified.delivered(2)
    [delivery] = [d for d in notified.hub.worker.history if d.kind == "change"]
    assert delivery.answers == ["202 (rejected)", "202"]


async def test_delivery_faults_do_not_touch_graph_requests_R14b(notified: Notified) -> None:
    await notified.subscribe()
    notified.faults.add(Fault("*", "*", FaultKind.DROP))
    await notified.create_event()  # a Graph request matching "*" still succeeds
    await notified.settle()
    assert notified.hub.worker.outcomes["dropped"] == 1


async def test_every_lifecycle_event_can_be_fired_with_the_documented_shape_R14b(
    notified: Notified,
) -> None:
    made = await notified.subscribe()
    [subscription] = notified.hub.book.all()
    for event in ("missed", "reauthorizationRequired", "subscriptionRemoved"):
        notified.hub.fire(subscription, event)
    await notified.delivered(3, "graph/lifecycle")
    items = notified.subscriber.items("graph/lifecycle")
    assert [i["lifecycleEvent"] for i in items] == [
        "missed",
        "reauthorizationRequired",
        "subscriptionRemoved",
    ]
    assert items[0] == {
        "subscriptionId": made["id"],
        "subscriptionExpirationDateTime": made["expirationDateTime"],
        "tenantId": TENANT,
        "clientState": "s3cret-state",
        "lifecycleEvent": "missed",
    }
    assert notified.hub.book.all() == []  # subscriptionRemoved removes it
    await notified.create_event()
    await notified.settle()
    assert notified.subscriber.items() == []


async def test_an_expired_subscription_stops_and_is_removed_by_the_clock_R14b(
    notified: Notified,
) -> None:
    made = await notified.subscribe(
        expirationDateTime=(notified.clock.now() + timedelta(hours=3)).isoformat()
    )
    notified.advance(timedelta(hours=3))
    await asyncio.sleep(0.3)  # a sweep
    token = notified.verifier.issue(TENANT, ALICE, "alice@contoso.test")
    answer = await notified.client.get(
        f"/subscriptions/{made['id']}", headers=notified.headers(token)
    )
    assert answer.status_code == 404
    notified.token = token
    await notified.create_event()
    await notified.settle()
    assert notified.subscriber.items() == []


async def test_reauthorization_is_asked_in_the_last_hour_every_15_minutes_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe(
        expirationDateTime=(notified.clock.now() + timedelta(hours=2)).isoformat()
    )
    notified.advance(timedelta(minutes=59))
    await asyncio.sleep(0.3)
    assert notified.subscriber.lifecycle() == []
    notified.advance(timedelta(minutes=2))
    await notified.delivered(1, "graph/lifecycle")
    notified.advance(timedelta(minutes=15))
    await notified.delivered(2, "graph/lifecycle")
    assert notified.subscriber.lifecycle() == ["reauthorizationRequired"] * 2


async def test_a_revoked_grant_asks_reauthorization_that_its_old_token_cannot_answer_R19b(
    notified: Notified,
) -> None:
    made = await notified.subscribe()
    notified.advance(timedelta(seconds=1))
    notified.revoked[ALICE] = notified.clock.now()
    await notified.delivered(1, "graph/lifecycle")
    assert notified.subscriber.lifecycle() == ["reauthorizationRequired"]
    path = f"/subscriptions/{made['id']}/reauthorize"
    refused = await notified.client.post(path, headers=notified.headers())
    assert refused.status_code == 403
    # Changes still notify for a while, then stop until reauthorized.
    await notified.create_event("Soon after")
    await notified.delivered(1)
    notified.advance(timedelta(minutes=10))
    await notified.create_event("Paused")
    await notified.settle()
    assert len(notified.subscriber.items()) == 1
    fresh = notified.verifier.issue(TENANT, ALICE, "alice@contoso.test")
    answered = await notified.client.post(path, headers=notified.headers(fresh))
    assert answered.status_code == 204
    notified.token = fresh
    await notified.create_event("Resumed")
    await notified.delivered(2)


async def test_a_slow_endpoint_is_throttled_then_dropped_as_documented_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe()
    health, now = notified.hub.worker.health, notified.clock.now()
    # 100 answers in this 10-minute window, 10 of them slower than 2.9 s: throttled.
    for n in range(100):
        health.record(NOTIFY_URL, 3.0 if n < 10 else 0.1, now)
    await notified.create_event("Throttled")
    await notified.settle()
    assert notified.subscriber.items() == []
    notified.advance(timedelta(minutes=10))  # delayed 10 minutes (and a new window)
    await notified.delivered(1)
    # 15 % slow (16 of the window's 101): dropped, and the subscriber hears it missed one.
    now = notified.clock.now()
    for n in range(100):
        health.record(NOTIFY_URL, 3.0 if n < 16 else 0.1, now)
    await notified.create_event("Dropped")
    await notified.delivered(1, "graph/lifecycle")
    assert notified.subscriber.lifecycle() == ["missed"]
    assert len(notified.subscriber.items()) == 1


async def test_an_expired_subscription_is_gone_even_before_the_sweep_R14b(
    notified: Notified,
) -> None:
    made = await notified.subscribe(
        expirationDateTime=(notified.clock.now() + timedelta(minutes=30)).isoformat()
    )
    notified.clock.set(notified.clock.now() + timedelta(minutes=30))  # no wake, no sweep
    answer = await notified.client.get(f"/subscriptions/{made['id']}", headers=notified.headers())
    assert answer.status_code == 404
    listed = await notified.client.get("/subscriptions", headers=notified.headers())
    assert listed.json()["value"] == []
