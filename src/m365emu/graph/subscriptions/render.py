"""The JSON Graph writes for subscriptions and the notifications it POSTs (issue 19).

- A subscription renders with every property of the subscription resource, as the
  create example of outlook-change-notifications-overview.md shows (unset ones null,
  `latestSupportedTlsVersion` `v1_2`); the list answer leaves `clientState` null
  ("not returned for security purposes", subscription-list.md).
- A change notification (change-notifications-delivery-webhooks.md, changeNotification):
  `subscriptionId`, `subscriptionExpirationDateTime`, `changeType`, `resource`,
  `resourceData` {`@odata.type`, `@odata.id`, `@odata.etag`, `id`}, `clientState`,
  `tenantId`, and an `id` of its own. Events are named as Outlook names them in its
  message example: `Users/{oid}/Events/{id}`, `#Microsoft.Graph.Event`. A deleted event
  has no changeKey left, so its `@odata.etag` is left out.
- A lifecycle notification (change-notifications-lifecycle-events.md): the same
  collection with `subscriptionId`, `subscriptionExpirationDateTime`, `tenantId`,
  `clientState` and `lifecycleEvent`, and no resource.
"""

from __future__ import annotations

import uuid
from typing import Any

from m365emu.graph.events.timezones import offset_datetime
from m365emu.graph.subscriptions.models import Subscription


def render_subscription(
    subscription: Subscription, base_url: str, *, listed: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": subscription.id,
        "resource": subscription.resource,
        "applicationId": subscription.application_id,
        "changeType": ",".join(subscription.change_types),
        "clientState": None if listed else subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "notificationQueryOptions": None,
        "notificationContentType": None,
        "lifecycleNotificationUrl": subscription.lifecycle_url,
        "expirationDateTime": offset_datetime(subscription.expiration),
        "creatorId": subscription.creator_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": subscription.tls_version,
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": subscription.notification_url_app_id,
    }
    if not listed:
        root = base_url.rstrip("/")
        return {"@odata.context": f"{root}/$metadata#subscriptions/$entity", **body}
    return body


def _oid(subscription: Subscription) -> str:
    return subscription.mailbox_key.split("/", 1)[1]


def change_item(
    subscription: Subscription, change_type: str, event_id: str, change_key: str | None
) -> dict[str, Any]:
    path = f"Users/{_oid(subscription)}/Events/{event_id}"
    data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": path}
    if change_key is not None:
        data["@odata.etag"] = f'W/"{change_key}"'
    data["id"] = event_id
    return {
        "id": uuid.uuid4().hex,
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": offset_datetime(subscription.expiration),
        "changeType": change_type,
        "resource": path,
        "resourceData": data,
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def lifecycle_item(subscription: Subscription, event: str) -> dict[str, Any]:
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": offset_datetime(subscription.expiration),
        "tenantId": subscription.tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }
