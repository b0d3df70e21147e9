"""Change notifications name events in the id form of the request that created the
subscription (learn.microsoft.com/graph/outlook-immutable-id, "Immutable ID with change
notifications"; issue 24 item 1)."""

from __future__ import annotations

from notification_harness import Notified
from test_graph_notifications import delivered

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


async def test_a_subscription_made_asking_for_immutable_ids_notifies_immutable_ids_R14b(
    notified: Notified,
) -> None:
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(), headers={**notified.headers(), **IMMUTABLE}
    )
    assert answer.status_code == 201, answer.text
    event = await notified.create_event()  # created without the header: its default id
    immutable = (
        await notified.client.get(
            f"/me/events/{event['id']}", headers={**notified.headers(), **IMMUTABLE}
        )
    ).json()["id"]
    assert immutable != event["id"]
    await delivered(notified, 1)
    [item] = notified.subscriber.items()
    assert item["resourceData"]["id"] == immutable
    assert item["resource"].endswith(f"/Events/{immutable}")
