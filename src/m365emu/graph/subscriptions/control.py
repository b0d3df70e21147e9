"""Control plane of the change notifications, under `/_emulator/` (issue 19):

    GET  subscriptions                          every live subscription and the deliveries
    POST lifecycle  {event, subscription_id?, email?}
                    fire `reauthorizationRequired`, `subscriptionRemoved` or `missed` now
                    for one subscription, a mailbox's, or (neither given) every one
                    → {"fired": [subscription ids]}

Delivery faults are armed through `POST /_emulator/faults` (m365emu.faults) and
`GET /_emulator/stats` carries `subscriptions`, `deliveries` and `handshakes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from m365emu.graph.subscriptions.hub import ChangeNotifications


class LifecycleBody(BaseModel):
    event: Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]
    subscription_id: str | None = None
    email: str | None = None


def build_notifications_control(
    hub: ChangeNotifications, mailbox_of: Callable[[str], str | None]
) -> APIRouter:
    """`mailbox_of(email)` is the mailbox key of an address, or None."""
    router = APIRouter(prefix="/_emulator")

    @router.get("/subscriptions")
    async def subscriptions() -> dict[str, Any]:
        return hub.stats_json()

    @router.post("/lifecycle", response_model=None)
    async def lifecycle(body: LifecycleBody) -> dict[str, Any] | JSONResponse:
        targets = hub.book.all()
        if body.subscription_id is not None:
            targets = [s for s in targets if s.id == body.subscription_id]
            if not targets:
                return JSONResponse({"error": f"no subscription {body.subscription_id}"}, 404)
        if body.email is not None:
            key = mailbox_of(body.email)
            if key is None:
                return JSONResponse({"error": f"no mailbox for {body.email}"}, 404)
            targets = [s for s in targets if s.mailbox_key == key]
        for subscription in targets:
            hub.fire(subscription, body.event)
        return {"fired": [s.id for s in targets], "event": body.event}

    return router
