"""`/subscriptions` routes (subscription-post-subscriptions.md, subscription-get.md,
subscription-list.md, subscription-update.md, subscription-delete.md,
subscription-reauthorize.md; issue 19).

Every route needs `Calendars.Read` or `Calendars.ReadWrite` (the event rows of those
pages' permission tables) — a token without them gets Graph's 403. Delegated tokens only
reach the signed-in user's own mailbox: `users/{id}/events` must name that user (by id or
address), and a caller sees only the subscriptions its app made for that user
(subscription-list.md "basic scenarios"); any other id is 404.

Create: 201 with the subscription after both URLs passed the handshake. PATCH renews
(`expirationDateTime`) and may move `notificationUrl` (handshake again); it also
reauthorizes. `lifecycleNotificationUrl` cannot be added or changed by PATCH.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from m365emu.graph.common.dispatch import Route
from m365emu.graph.common.http import Call, GraphResponse
from m365emu.graph.state import Mailbox
from m365emu.graph.subscriptions import errors
from m365emu.graph.subscriptions.handshake import validate
from m365emu.graph.subscriptions.hub import ChangeNotifications
from m365emu.graph.subscriptions.models import (
    CHANGE_TYPES,
    CLIENT_STATE_MAX,
    OUTLOOK_MAX_MINUTES,
    TLS_VERSIONS,
    Subscription,
)
from m365emu.graph.subscriptions.render import render_subscription

SCOPES = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
_RESOURCE = re.compile(r"^/?(?:me|users/(?P<user>[^/]+))/events/?$", re.IGNORECASE)
_CREATE_FIELDS = {
    "changeType",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "resource",
    "expirationDateTime",
    "clientState",
    "latestSupportedTlsVersion",
    "notificationUrlAppId",
    "includeResourceData",
    "encryptionCertificate",
    "encryptionCertificateId",
    "@odata.type",
}
_PATCH_FIELDS = {"expirationDateTime", "notificationUrl", "@odata.type"}


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise errors.invalid(f"{name} is a required property for subscription creation.")
        return None
    if not isinstance(value, str):
        raise errors.invalid(f"Cannot convert the literal value of property '{name}' to 'String'.")
    return value


def _expiry(raw: str | None, now: datetime, *, creating: bool) -> datetime:
    if raw is None:
        action = "creation" if creating else "update"
        raise errors.invalid(
            f"expirationDateTime is a required property for subscription {action}."
        )
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid(
            "Could not process subscription creation payload. Are all property names spelled "
            "and camelCased properly?"
        ) from None
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if value <= now:
        raise errors.in_the_past()
    if value - now > timedelta(minutes=OUTLOOK_MAX_MINUTES):
        raise errors.too_distant(OUTLOOK_MAX_MINUTES)
    return value


def _url(hub: ChangeNotifications, raw: str | None, name: str) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise errors.invalid(f"{name} '{raw}' is not an absolute URL.")
    if parts.scheme == "http" and not hub.plain_http():
        raise errors.invalid(f"{name} must use the HTTPS protocol.")
    return raw


def _change_types(raw: str | None) -> tuple[str, ...]:
    wanted = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not wanted or any(part not in CHANGE_TYPES for part in wanted):
        raise errors.invalid(
            f"changeType '{raw}' is invalid: use created, updated and deleted, comma-separated."
        )
    return tuple(t for t in CHANGE_TYPES if t in wanted)


def _check_resource(raw: str, call: Call) -> None:
    match = _RESOURCE.match(raw)
    if match is None:
        raise errors.invalid(f"Resource '{raw}' is not supported for change notifications.")
    user = match.group("user")
    if user is not None:
        user = user.strip("'()")
        mine = {call.claims.oid.lower(), call.claims.preferred_username.lower()}
        if user.lower() not in mine:
            raise errors.other_mailbox()


def _check_grant(hub: ChangeNotifications, call: Call) -> None:
    revoked = hub.grant_valid_from(call.claims.tid, call.claims.oid)
    # `iat` has whole seconds, so a token issued in the second of the revocation counts
    # as older (a test that signs in again at once must let a second pass).
    if revoked is not None and call.claims.issued_at < revoked.timestamp():
        raise errors.reauthorization_refused()


def _owned(hub: ChangeNotifications, call: Call, box: Mailbox) -> Subscription:
    found = hub.book.get(call.params["id"])
    if found is None or found.mailbox_key != box.key or found.application_id != call.claims.app_id:
        raise errors.not_found()
    if found.expiration <= hub.clock.now():
        # Expired: gone, even before the worker's sweep has removed it.
        hub.remove(found.id)
        raise errors.not_found()
    return found


async def _handshakes(hub: ChangeNotifications, *urls: str | None) -> None:
    for url in urls:
        if url is None:
            continue
        try:
            await validate(hub.client, url, hub.validation_timeout)
        except Exception as error:
            hub.handshakes.append({"url": url, "ok": False, "error": str(error)})
            raise
        hub.handshakes.append({"url": url, "ok": True})


def make_routes(hub: ChangeNotifications) -> list[Route]:
    clock = hub.clock

    async def create(call: Call, box: Mailbox) -> GraphResponse:
        body = call.request.json_object()
        for name in body:
            if name not in _CREATE_FIELDS:
                raise errors.invalid(
                    f"Could not process subscription creation payload: unknown property '{name}'."
                )
        now = clock.now()
        _check_grant(hub, call)
        resource = _text(body, "resource", required=True) or ""
        _check_resource(resource, call)
        change_types = _change_types(_text(body, "changeType", required=True))
        notification_url = _url(
            hub, _text(body, "notificationUrl", required=True), "notificationUrl"
        )
        lifecycle_url = _url(
            hub, _text(body, "lifecycleNotificationUrl"), "lifecycleNotificationUrl"
        )
        expiration = _expiry(_text(body, "expirationDateTime"), now, creating=True)
        client_state = _text(body, "clientState")
        if client_state is not None and len(client_state) > CLIENT_STATE_MAX:
            raise errors.invalid(f"clientState is longer than {CLIENT_STATE_MAX} characters.")
        tls = _text(body, "latestSupportedTlsVersion") or "v1_2"
        if tls not in TLS_VERSIONS:
            raise errors.invalid(f"latestSupportedTlsVersion '{tls}' is not one of {TLS_VERSIONS}.")
        if body.get("includeResourceData"):
            raise errors.invalid(
                "includeResourceData is not supported by this emulator (no encryption)."
            )
        assert notification_url is not None
        await _handshakes(hub, notification_url, lifecycle_url)
        subscription = Subscription(
            id=str(uuid.uuid4()),
            mailbox_key=box.key,
            tenant_id=call.claims.tid,
            creator_id=call.claims.oid,
            application_id=call.claims.app_id,
            resource=resource,
            change_types=change_types,
            notification_url=notification_url,
            lifecycle_url=lifecycle_url,
            client_state=client_state,
            expiration=expiration,
            tls_version=tls,
            notification_url_app_id=_text(body, "notificationUrlAppId"),
            authorized_at=now,
            immutable_ids=(call.prefer("idtype") or "").lower() == "immutableid",
        )
        if subscription.immutable_ids:
            call.applied.append('IdType="ImmutableId"')
        hub.book.save(subscription)
        return call.ok(render_subscription(subscription, call.base_url), 201)

    def get(call: Call, box: Mailbox) -> GraphResponse:
        return call.ok(render_subscription(_owned(hub, call, box), call.base_url))

    def listing(call: Call, box: Mailbox) -> GraphResponse:
        mine = [
            render_subscription(s, call.base_url, listed=True)
            for s in hub.book.of_mailbox(box.key)
            if s.application_id == call.claims.app_id and s.expiration > clock.now()
        ]
        context = f"{call.base_url.rstrip('/')}/$metadata#subscriptions"
        return call.ok({"@odata.context": context, "value": mine})

    async def update(call: Call, box: Mailbox) -> GraphResponse:
        current = _owned(hub, call, box)
        body = call.request.json_object()
        if "lifecycleNotificationUrl" in body:
            raise errors.invalid(
                "lifecycleNotificationUrl can only be set when creating a subscription."
            )
        for name in body:
            if name not in _PATCH_FIELDS:
                raise errors.invalid(f"Property '{name}' cannot be updated on a subscription.")
        _check_grant(hub, call)
        now = clock.now()
        changes: dict[str, Any] = {}
        if "expirationDateTime" in body:
            changes["expiration"] = _expiry(_text(body, "expirationDateTime"), now, creating=False)
        new_url = _url(hub, _text(body, "notificationUrl"), "notificationUrl")
        if new_url is not None and new_url != current.notification_url:
            await _handshakes(hub, new_url)
            changes["notification_url"] = new_url
        hub.book.update(current.id, **changes)
        hub.authorized(current.id, now)
        renewed = hub.book.get(current.id) or current
        return call.ok(render_subscription(renewed, call.base_url))

    def delete(call: Call, box: Mailbox) -> GraphResponse:
        hub.remove(_owned(hub, call, box).id)
        return GraphResponse(204, None)

    def reauthorize(call: Call, box: Mailbox) -> GraphResponse:
        current = _owned(hub, call, box)
        _check_grant(hub, call)
        hub.authorized(current.id, clock.now())
        return GraphResponse(204, None)

    def route(method: str, template: str, handler: Any) -> Route:
        # Subscriptions are not mailbox (Outlook) calls: outside the mailbox throttle.
        return Route(method, template, handler, SCOPES, throttled=False)

    return [
        route("POST", "/subscriptions", create),
        route("GET", "/subscriptions", listing),
        route("POST", "/subscriptions/{id}/reauthorize", reauthorize),
        route("GET", "/subscriptions/{id}", get),
        route("PATCH", "/subscriptions/{id}", update),
        route("DELETE", "/subscriptions/{id}", delete),
    ]
