"""The emulator's parts beyond the identity platform, installed by `build_emulator`:
the Graph calendar API (issue 5) and its change notifications (issue 19) on the TLS port
under `/v1.0`, and the Outlook page with a delta-expiry switch and the notifications'
control routes on the plain HTTP port.

`POST /_emulator/delta-expiry {"email": "…" | "*", "kind": "gone410" |
"syncStateNotFound" | "resyncRequired"}` makes the next delta call of that mailbox (or
of every mailbox) answer as Graph does when its sync state is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from m365emu.graph import GraphRuntime, GraphState, create_graph_router
from m365emu.graph.subscriptions.control import build_notifications_control
from m365emu.graph.subscriptions.hub import ChangeNotifications
from m365emu.graph.subscriptions.routes import make_routes as subscription_routes
from m365emu.outlook_web import create_outlook_router

if TYPE_CHECKING:
    from m365emu.app import Emulator


class EmulatorRuntime(GraphRuntime):
    """Graph's knobs, reading the latency the control plane sets on the emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        super().__init__(latency_ms=emulator.latency_ms)

    @property
    def latency_ms(self) -> int:
        return self._emulator.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        self._emulator.latency_ms = value


class DeltaExpiryBody(BaseModel):
    email: str
    kind: Literal["gone410", "syncStateNotFound", "resyncRequired"]


def install_notifications(emulator: Emulator, state: GraphState) -> ChangeNotifications:
    directory = emulator.directory

    def grant_valid_from(tid: str, oid: str) -> datetime | None:
        user = directory.user(tid, oid)
        return user.tokens_valid_from if user is not None else None

    hub = ChangeNotifications(
        emulator.clock,
        emulator.faults,
        emulator.persistence,
        grant_valid_from=grant_valid_from,
        plain_http=lambda: emulator.allows_plain_http_notifications,
    )
    emulator.notifications = hub
    hub.public_id = state.public_id
    state.change_listeners.append(hub.event_changed)
    emulator.reset_hooks.append(hub.reset)
    emulator.stats_hooks.append(hub.stats_json)

    def mailbox_of(email: str) -> str | None:
        box = state.find_by_email(email)
        return box.key if box is not None else None

    emulator.browser_routers.append(build_notifications_control(hub, mailbox_of))
    return hub


def install_graph(emulator: Emulator) -> None:
    state = GraphState(emulator.persistence)
    emulator.graph_state = state
    hub = install_notifications(emulator, state)
    router = create_graph_router(
        state,
        emulator.verifier,
        emulator.clock,
        emulator.faults,
        emulator.stats,
        EmulatorRuntime(emulator),
        tuple(subscription_routes(hub)),
    )
    emulator.graph_routers.append(router)
    emulator.reset_hooks.append(state.reset)

    control = APIRouter(prefix="/_emulator")

    @control.post("/delta-expiry")
    async def delta_expiry(body: DeltaExpiryBody) -> dict[str, str]:
        if body.email == "*":
            key = "*"
        else:
            mailbox = state.find_by_email(body.email)
            if mailbox is None:
                raise HTTPException(404, f"no mailbox for {body.email} has called Graph yet")
            key = mailbox.key
        state.expire_delta(key, body.kind)
        return {"mailbox": key, "kind": body.kind}

    emulator.browser_routers.append(control)

    def list_users() -> list[tuple[str, str, str, str]]:
        return [
            (u.tenant_id, u.id, u.email, u.display_name) for u in emulator.directory.users_of(None)
        ]

    outlook = create_outlook_router(
        state, emulator.clock, list_users, secret=emulator.session_secret, mail=emulator.mail
    )
    wrapper = APIRouter(prefix="/outlook")
    wrapper.include_router(outlook)
    emulator.browser_routers.append(wrapper)
