"""The emulator's parts beyond the identity platform, installed by `build_emulator`:
the Graph calendar API (issue 5) on the TLS port under `/v1.0`, and the Outlook page
with a delta-expiry switch on the plain HTTP port.

`POST /_emulator/delta-expiry {"email": "…" | "*", "kind": "gone410" |
"syncStateNotFound" | "resyncRequired"}` makes the next delta call of that mailbox (or
of every mailbox) answer as Graph does when its sync state is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from m365emu.graph import GraphRuntime, GraphState, create_graph_router
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


def install_graph(emulator: Emulator) -> None:
    state = GraphState(emulator.persistence)
    emulator.graph_state = state
    router = create_graph_router(
        state,
        emulator.verifier,
        emulator.clock,
        emulator.faults,
        emulator.stats,
        EmulatorRuntime(emulator),
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
        state, emulator.clock, list_users, secret=emulator.session_secret
    )
    wrapper = APIRouter(prefix="/outlook")
    wrapper.include_router(outlook)
    emulator.browser_routers.append(wrapper)
