"""Change notifications name events in the id form of the request that created the
subscription (learn.microsoft.com/graph/outlook-immutable-id, "Immutable ID with change
notifications"; issue 24 item 1)."""

from __future__ import annotations

from support.notification_harness import Notified

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


async def test_a_subscription_made_asking_for_immutable_ids_notifies_immutable_ids_R14b(
    notified: Notified,
) -> None:
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(), headers={**notified.headers(), **IMMUTABLE}
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    event = await notified.create_event()  # created without the header: its default id
    immutable = (
        await notified.client.get(
            f"/me/events/{event['id']}", headers={**notified.headers(), **IMMUTABLE}
        )
    ).json()["id"]
    assert immutable != event["id"]
    await notified.delivered(1)
    [item] = notified.subscriber.items()
    assert item["resourceData"]["id"] == immutable
    assert item["resource"].endswith(f"/Events/{immutable}")


async def test_a_subscription_made_without_the_header_notifies_default_ids_R14b(
    notified: Notified,
) -> None:
    await notified.subscribe()
    event = await notified.create_event()
    await notified.delivered(1)
    [item] = notified.subscriber.items()
    assert item["resourceData"]["id"] == event["id"]
