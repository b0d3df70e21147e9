"""Graph change-notification subscriptions on a user's calendar (R14b).

The port (`SubscriptionGateway`) and its Graph adapter (`GraphSubscriptions`), following
learn.microsoft.com "Receive change notifications through webhooks", the subscription
resource and "Subscription lifetime":

- create: `POST /subscriptions` with `changeType` `created,updated,deleted`, `resource`
  `me/events`, `notificationUrl`, `lifecycleNotificationUrl` (settable only at create),
  `expirationDateTime` and a `clientState` secret; Graph answers 201 with the
  subscription, after validating both URLs (a failed handshake is a 400: our public URL
  cannot be reached, `EndpointUnreachable`);
- renew (and reauthorize): `PATCH /subscriptions/{id}` with a new `expirationDateTime`;
- delete: `DELETE /subscriptions/{id}` (204); a 404 means it is gone already.

A 403 to a create or a renewal means the user's grant no longer covers their own
calendar (consent or the `Calendars` scope revoked, the user's sessions revoked while the
access token still works): only the user can fix that, so it is `NeedsSignIn` (R19b) —
the user is asked to sign in again, never polled forever in silence.

An Outlook event subscription without resource data lives at most 10,080 minutes (just
under 7 days); we ask for `LIFETIME`, a little less, so clock skew never makes Graph
refuse it. Errors extend the connector's tree (outlook/errors.py):

    GraphError
    ├── SubscriptionGone     404: removed or expired on Graph's side — create a new one
    └── EndpointUnreachable  the validation handshake failed: no push, poll as before
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from s5sync.outlook.errors import GraphError, GraphRejected, NeedsSignIn
from s5sync.outlook.session import Answer, GraphSession

MAX_LIFETIME = timedelta(minutes=10_080)  # Outlook events, without resource data
LIFETIME = MAX_LIFETIME - timedelta(minutes=30)
CHANGE_TYPES = "created,updated,deleted"
RESOURCE = "me/events"


class SubscriptionGone(GraphError):
    """Graph no longer knows the subscription (removed, expired): create a new one."""


class EndpointUnreachable(GraphError):
    """Graph could not validate our notification URL: push is off until it can."""


@dataclass(frozen=True)
class SubscriptionRequest:
    """What a new subscription needs; `client_state` is its secret (never logged)."""

    notification_url: str
    lifecycle_url: str
    client_state: str
    expires_at: datetime

    def __repr__(self) -> str:  # R22: the client state never shows in a log or traceback
        return f"SubscriptionRequest(notification_url={self.notification_url!r}, …)"


@dataclass(frozen=True)
class Subscribed:
    """Graph's answer: the subscription's id and when it expires."""

    subscription_id: str
    expires_at: datetime


class SubscriptionGateway(Protocol):
    """One user's subscriptions on Graph (the fake: testing/subscriptions.py)."""

    async def create(self, request: SubscriptionRequest) -> Subscribed: ...

    async def renew(self, subscription_id: str, expires_at: datetime) -> Subscribed: ...

    async def delete(self, subscription_id: str) -> None: ...


def graph_time(moment: datetime) -> str:
    """ISO 8601 in UTC, as Graph's examples write `expirationDateTime`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def parse_graph_time(text: str) -> datetime:
    """Graph's `expirationDateTime` (7 fractional digits, `Z`) as an aware UTC time."""
    head, _, rest = text.rstrip("Z").partition(".")
    digits = "".join(c for c in rest if c.isdigit())[:6]
    moment = datetime.fromisoformat(head + (f".{digits}" if digits else ""))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class GraphSubscriptions:
    """`SubscriptionGateway` over one user's `GraphSession` (retries, token refresh)."""

    def __init__(self, session: GraphSession) -> None:
        self.session = session

    async def create(self, request: SubscriptionRequest) -> Subscribed:
        answer = await self.session.request(
            "POST",
            "/subscriptions",
            body={
                "changeType": CHANGE_TYPES,
                "notificationUrl": request.notification_url,
                "lifecycleNotificationUrl": request.lifecycle_url,
                "resource": RESOURCE,
                "expirationDateTime": graph_time(request.expires_at),
                "clientState": request.client_state,
            },
        )
        if answer.status == 201:
            return _subscribed(answer)
        _check_grant(answer)
        if answer.status == 400 and "validat" in _message(answer).lower():
            raise EndpointUnreachable(
                "Microsoft Graph could not validate the notification URL (is S5SYNC_PUBLIC_URL "
                "reachable from the internet over https?)",
                status=400,
                code=answer.error_code,
            )
        raise _refused("create", answer)

    async def renew(self, subscription_id: str, expires_at: datetime) -> Subscribed:
        answer = await self.session.request(
            "PATCH",
            _path(subscription_id),
            body={"expirationDateTime": graph_time(expires_at)},
        )
        if answer.status == 200:
            return _subscribed(answer)
        _check_grant(answer)
        if answer.status == 404:
            raise SubscriptionGone("the subscription is gone", status=404, code=answer.error_code)
        raise _refused("renew", answer)

    async def delete(self, subscription_id: str) -> None:
        answer = await self.session.request(
            "DELETE", f"/subscriptions/{quote(subscription_id, safe='')}"
        )
        if answer.status in (200, 204, 404):
            return
        raise _refused("delete", answer)


def _check_grant(answer: Answer) -> None:
    """R19b: a 403 on the user's own calendar is a grant only the user can renew."""
    if answer.status == 403:
        raise NeedsSignIn(
            "Microsoft Graph refused the calendar subscription (403 "
            f"{answer.error_code or 'no code'}): the consent or the calendar permission was "
            "revoked"
        )


def _path(subscription_id: str) -> str:
    return f"/subscriptions/{quote(subscription_id, safe='')}"


def _subscribed(answer: Answer) -> Subscribed:
    body: Any = answer.body
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise GraphRejected("Microsoft Graph answered a subscription without an id")
    return Subscribed(body["id"], parse_graph_time(str(body["expirationDateTime"])))


def _message(answer: Answer) -> str:
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    return str(error.get("message", "")) if isinstance(error, dict) else ""


def _refused(what: str, answer: Answer) -> GraphRejected:
    return GraphRejected(
        f"Microsoft Graph refused to {what} the subscription ({answer.status} "
        f"{answer.error_code or 'no code'})",
        status=answer.status,
        code=answer.error_code,
    )
