"""The notification URL validation handshake (change-notifications-delivery-notificationurl-
validation.md), run when a subscription is created and when a PATCH changes its
`notificationUrl`, for `notificationUrl` and `lifecycleNotificationUrl` alike (issue 19):

1. Graph POSTs to `{url}?validationToken={token}` (URL-encoded, the URL's own query kept)
   with `Content-Type: text/plain; charset=utf-8`;
2. the endpoint must answer within 10 seconds, `200 OK`, `Content-Type: text/plain`, with
   the URL-decoded token as the whole body;
3. otherwise the subscription is not made (400, errors.py).

The token reads like Graph's ("Validation: Testing client application reachability for
subscription Request-Id: …"): spaces and a colon, so an endpoint that fails to decode it,
or echoes it encoded, fails here as it would against Graph.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from m365emu.graph.subscriptions.errors import (
    validation_failed,
    validation_mismatch,
    validation_timed_out,
)

VALIDATION_TIMEOUT_SECONDS = 10.0

ClientFactory = Callable[[float], httpx.AsyncClient]


def with_query(url: str, **params: str) -> str:
    """`url` with `params` appended to its own query string."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def new_token() -> str:
    reach = "Validation: Testing client application reachability for subscription"
    return f"{reach} Request-Id: {uuid.uuid4()}"


async def validate(
    clients: ClientFactory, url: str, limit: float = VALIDATION_TIMEOUT_SECONDS
) -> None:
    """Return when `url` passes the handshake; raise the GraphError Graph answers otherwise.
    `limit` is enforced around the whole exchange, so an in-process (ASGI) endpoint that
    is slow fails as a remote one would."""
    token = new_token()
    try:
        async with asyncio.timeout(limit), clients(limit) as client:
            answer = await client.post(
                with_query(url, validationToken=token),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
    except (httpx.TimeoutException, TimeoutError):
        raise validation_timed_out() from None
    except httpx.HTTPError:
        raise validation_failed() from None
    content_type = answer.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if answer.status_code != 200 or content_type != "text/plain":
        raise validation_failed()
    if answer.text != token:
        raise validation_mismatch()
